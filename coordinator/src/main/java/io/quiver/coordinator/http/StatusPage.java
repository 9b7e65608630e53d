package io.quiver.coordinator.http;

import io.quiver.core.json.Json;
import java.util.List;
import java.util.Map;

/**
 * The status page: one self-contained HTML document (no CDN, no external file; the cluster may
 * have no internet). It is served with the current state already in it, so it reads without
 * JavaScript, and then redraws itself from {@code /api/cluster} about once a second. Pure.
 */
final class StatusPage {
    private StatusPage() {}

    static String render(Map<String, Object> doc) {
        StringBuilder sb = new StringBuilder(16_384);
        sb.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Quiver: ")
                .append(esc(doc.get("leader"))).append("</title><style>").append(CSS).append("</style></head><body>");
        sb.append("<header><h1>Quiver</h1><span id=\"leader\">leader <b>").append(esc(doc.get("leader")))
                .append("</b> epoch <b id=\"epoch\">").append(esc(doc.get("epoch"))).append("</b></span>")
                .append("<span id=\"standbys\">standbys: ").append(esc(String.join(", ", strings(doc.get("standbys")))))
                .append("</span><span id=\"tasks\"></span><span id=\"stale\" class=\"muted\"></span></header>");
        sb.append("<section><h2>Executors</h2><table id=\"executors\"><thead><tr><th>executor</th><th>memory used / limit</th>"
                + "<th>spilled</th><th>slots</th><th>running</th><th>queued</th></tr></thead><tbody>");
        for (Map<String, Object> e : maps(doc.get("executors"))) {
            sb.append("<tr><td>").append(esc(e.get("id"))).append("</td><td>")
                    .append(bytes(num(e.get("memoryUsed")))).append(" / ").append(bytes(num(e.get("memoryLimit"))))
                    .append("</td><td>").append(num(e.get("spilled")) < 0 ? "?" : bytes(num(e.get("spilled"))))
                    .append("</td><td>").append(esc(e.get("slots"))).append("</td><td>").append(esc(e.get("running")))
                    .append("</td><td>").append(esc(e.get("queued"))).append("</td></tr>");
        }
        sb.append("</tbody></table></section>");
        sb.append("<section><h2>Jobs</h2><div id=\"jobs\">");
        for (Map<String, Object> j : maps(doc.get("jobs"))) {
            sb.append("<div class=\"job\">job ").append(esc(j.get("id"))).append(" (").append(esc(j.get("state")))
                    .append(")");
            for (Map<String, Object> st : maps(j.get("stages"))) {
                sb.append(" [stage ").append(esc(st.get("index"))).append(": ").append(esc(st.get("done"))).append('/')
                        .append(esc(st.get("tasks"))).append(']');
            }
            sb.append("</div>");
        }
        sb.append("</div></section>");
        sb.append("<section><h2>Broadcast and scattered values</h2><table id=\"values\"><thead><tr><th>ref</th><th>kind</th>"
                + "<th>size</th><th>replicas</th></tr></thead><tbody>");
        for (Map<String, Object> v : maps(doc.get("values"))) {
            sb.append("<tr><td>").append(esc(v.get("ref"))).append("</td><td>").append(esc(v.get("kind")))
                    .append("</td><td>").append(bytes(num(v.get("bytes")))).append("</td><td>")
                    .append(esc(String.join(", ", strings(v.get("replicas"))))).append("</td></tr>");
        }
        sb.append("</tbody></table></section>");
        sb.append("<section><h2>Task stream (last minute)</h2><div id=\"stream\"></div></section>");
        sb.append("<section><h2>Events</h2><ol id=\"events\">");
        for (Map<String, Object> ev : maps(doc.get("events"))) {
            sb.append("<li class=\"ev-").append(esc(ev.get("kind"))).append("\">").append(esc(ev.get("text")))
                    .append("</li>");
        }
        sb.append("</ol></section>");
        sb.append("<script id=\"initial\" type=\"application/json\">").append(Json.write(doc)).append("</script>");
        sb.append("<script>").append(JS).append("</script></body></html>");
        return sb.toString();
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> maps(Object o) {
        return o instanceof List<?> l ? (List<Map<String, Object>>) l : List.of();
    }

    private static List<String> strings(Object o) {
        return o instanceof List<?> l ? l.stream().map(String::valueOf).toList() : List.of();
    }

    private static long num(Object o) {
        return o instanceof Number n ? n.longValue() : -1;
    }

    static String bytes(long b) {
        if (b < 0) {
            return "?";
        }
        if (b < 1024) {
            return b + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = b;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static String esc(Object o) {
        String s = String.valueOf(o);
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    private static final String CSS = """
            body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
            header{background:#24292f;color:#fff;padding:8px 16px;display:flex;gap:24px;align-items:baseline}
            header h1{font-size:18px;margin:0}
            section{margin:12px 16px;background:#fff;border:1px solid #ddd;border-radius:4px;padding:8px 12px}
            h2{font-size:15px;margin:4px 0 8px}
            table{border-collapse:collapse;width:100%}
            th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee;vertical-align:middle}
            .bar{position:relative;height:14px;background:#eee;border-radius:2px;min-width:160px}
            .bar i{position:absolute;top:0;bottom:0;left:0;background:#4c9be8;border-radius:2px}
            .bar i.sp{background:#e8a24c}
            .bar span{position:relative;font-size:11px;padding-left:4px}
            .muted{color:#888}.dead{color:#b00}
            .job{margin:4px 0}.stage{display:flex;gap:8px;align-items:center;margin:2px 0 2px 16px}
            .stage .bar{flex:1}
            .bar i.run{background:#9fd19f}
            #stream{position:relative}
            .lane{position:relative;height:16px;margin:2px 0 2px 120px;background:#f3f3f3}
            .lane b{position:absolute;left:-120px;width:115px;font-weight:normal;font-size:12px;overflow:hidden}
            .lane i{position:absolute;top:2px;bottom:2px;background:#4c9be8;min-width:1px}
            .lane i.bad{background:#d9534f}
            #events{max-height:220px;overflow:auto;font-size:13px;margin:0;padding-left:20px}
            .ev-lost,.ev-failed{color:#b00}.ev-leader{color:#06c;font-weight:bold}.ev-stale{color:#a60}
            .ev-joined{color:#070}
            """;

    private static final String JS = """
            (function(){
            'use strict';
            var state=JSON.parse(document.getElementById('initial').textContent);
            function el(t,c,x){var e=document.createElement(t);if(c)e.className=c;if(x!=null)e.textContent=x;return e;}
            function bytes(b){if(b<0)return'?';if(b<1024)return b+' B';var u=['KiB','MiB','GiB','TiB'],i=-1;
              do{b/=1024;i++;}while(b>=1024&&i<u.length-1);return b.toFixed(1)+' '+u[i];}
            function bar(parts,label){var d=el('div','bar');var left=0;parts.forEach(function(p){var i=el('i',p[1]);
              var w=Math.max(0,Math.min(100-left,p[0]*100));i.style.left=left+'%';i.style.width=w+'%';left+=w;d.appendChild(i);});
              d.appendChild(el('span',null,label));return d;}
            function clear(n){while(n.firstChild)n.removeChild(n.firstChild);return n;}
            function draw(s){
              document.getElementById('epoch').textContent=s.epoch;
              document.querySelector('#leader b').textContent=s.leader;
              document.getElementById('standbys').textContent='standbys: '+(s.standbys.length?s.standbys.join(', '):'none');
              document.getElementById('tasks').textContent='tasks: '+s.tasks.running+' running, '+s.tasks.queued+
                ' queued, '+s.tasks.finished+' finished, '+s.tasks.failed+' failed'+(s.recovering?' (recovering)':'');
              var tb=clear(document.querySelector('#executors tbody'));
              s.executors.forEach(function(e){var tr=el('tr',e.live?null:'dead');tr.dataset.executor=e.id;
                tr.appendChild(el('td',null,e.id+(e.live?'':' (link down)')));
                var lim=Math.max(1,e.memoryLimit);var td=el('td');
                td.appendChild(bar([[e.memoryUsed/lim,''],[e.memoryReserved/lim,'sp']],bytes(e.memoryUsed)+' / '+bytes(e.memoryLimit)));
                tr.appendChild(td);var sp=el('td');
                sp.appendChild(bar([[e.spilled>0?e.spilled/lim:0,'sp']],e.spilled<0?'?':bytes(e.spilled)));tr.appendChild(sp);
                tr.appendChild(el('td',null,String(e.slots)));tr.appendChild(el('td',null,String(e.running)));
                tr.appendChild(el('td',null,String(e.queued)));tb.appendChild(tr);});
              var jobs=clear(document.getElementById('jobs'));
              s.jobs.slice().reverse().forEach(function(j){var d=el('div','job');d.dataset.job=j.id;
                var done=0,total=0;j.stages.forEach(function(st){done+=st.done;total+=st.tasks;});
                d.appendChild(el('div',null,'job '+j.id+' from '+j.client+': '+j.state+', '+done+'/'+total+' tasks, '+
                  (j.durationMs/1000).toFixed(1)+' s'));
                j.stages.forEach(function(st){var r=el('div','stage');r.appendChild(el('span',null,'stage '+(st.index+1)+'/'+
                  j.stages.length+' '+st.kind));var t=Math.max(1,st.tasks);
                  var b=bar([[st.done/t,''],[st.running/t,'run'],[st.failed/t,'sp']],st.done+' + '+st.running+' / '+st.tasks+
                    (st.failed?' ('+st.failed+' failed)':''));b.className+=' progress';b.dataset.done=st.done;
                  b.dataset.tasks=st.tasks;r.appendChild(b);d.appendChild(r);});
                jobs.appendChild(d);});
              if(!s.jobs.length)jobs.appendChild(el('div','muted','no dataset jobs yet'));
              var vb=clear(document.querySelector('#values tbody'));
              s.values.forEach(function(v){var tr=el('tr');tr.dataset.ref=v.ref;tr.appendChild(el('td',null,v.ref));
                tr.appendChild(el('td',null,v.kind+(v.ready?'':' (storing)')));tr.appendChild(el('td',null,bytes(v.bytes)));
                tr.appendChild(el('td','replicas',v.replicas.length+': '+v.replicas.join(', ')));vb.appendChild(tr);});
              var st=clear(document.getElementById('stream'));var now=s.takenAt,from=now-60000;var lanes={};
              s.executors.forEach(function(e){lanes[e.id]=null;});
              s.taskStream.forEach(function(t){lanes[t.executor]=null;});
              Object.keys(lanes).forEach(function(id){var l=el('div','lane');l.appendChild(el('b',null,id));lanes[id]=l;st.appendChild(l);});
              s.taskStream.forEach(function(t){var i=el('i',t.ok?null:'bad');var a=Math.max(from,t.start);
                i.style.left=((a-from)/600)+'%';i.style.width=Math.max(0.1,(t.end-a)/600)+'%';
                i.title=t.task+' ('+t.label+') '+(t.end-t.start)+' ms';lanes[t.executor].appendChild(i);});
              var ev=clear(document.getElementById('events'));
              s.events.slice().reverse().forEach(function(e){var li=el('li','ev-'+e.kind,
                new Date(e.at).toLocaleTimeString()+'  '+e.text);ev.appendChild(li);});
            }
            function tick(){var x=new XMLHttpRequest();x.open('GET','/api/cluster');x.timeout=3000;
              x.onload=function(){if(x.status===200){state=JSON.parse(x.responseText);draw(state);
                document.getElementById('stale').textContent='';}else{stale();}setTimeout(tick,1000);};
              x.onerror=x.ontimeout=function(){stale();setTimeout(tick,1000);};x.send();}
            function stale(){document.getElementById('stale').textContent='(this leader is not reachable; retrying.'+
              ' After a leader change the new leader serves the page: quiver status names it)';}
            draw(state);setTimeout(tick,1000);
            })();
            """;
}
