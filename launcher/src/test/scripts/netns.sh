#!/usr/bin/env bash
# Simulated hosts for MultiHostIT: one Linux network namespace per host, each with one veth end
# (eth0, its own address) and the other end on a bridge in the root namespace, which has an address
# on the bridge too (so the test's JVM can watch ZooKeeper). Needs root and iproute2.
#
#   netns.sh up   PREFIX BRIDGE_CIDR NAME=ADDRESS...   e.g. up qm42 10.213.42.1/24 zk=10.213.42.10 ...
#   netns.sh down PREFIX                               removes every namespace and link of PREFIX
#
# Namespaces are PREFIX-NAME, the bridge PREFIX-br, the root-side veth ends PREFIXhN. `up` undoes what
# it did when a step fails; `down` ignores what is already gone, so it is safe to run twice.
set -euo pipefail

usage() { echo "usage: $0 up PREFIX BRIDGE_CIDR NAME=ADDRESS... | down PREFIX" >&2; exit 2; }

down() {
  local prefix="$1" ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${prefix}-" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  # Deleting a namespace deletes its veth end and so the pair; the bridge stays until removed here.
  ip link del "${prefix}-br" 2>/dev/null || true
}

up() {
  local prefix="$1" cidr="$2"; shift 2
  local prefix_len="${cidr#*/}"
  trap 'down "$prefix"' ERR
  ip link add "${prefix}-br" type bridge
  # Keep the host's firewall out of the bridge (Docker's FORWARD policy DROP would cut the hosts off
  # where br_netfilter is loaded); older kernels lack the option, and then nothing changes.
  ip link set "${prefix}-br" type bridge nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0 2>/dev/null || true
  ip addr add "$cidr" dev "${prefix}-br"
  ip link set "${prefix}-br" up
  local i=0 pair name addr
  for pair in "$@"; do
    name="${pair%%=*}"; addr="${pair#*=}"
    ip netns add "${prefix}-${name}"
    ip link add "${prefix}h${i}" type veth peer name "${prefix}n${i}"
    ip link set "${prefix}h${i}" master "${prefix}-br" up
    ip link set "${prefix}n${i}" netns "${prefix}-${name}"
    ip -n "${prefix}-${name}" link set "${prefix}n${i}" name eth0
    ip -n "${prefix}-${name}" addr add "${addr}/${prefix_len}" dev eth0
    ip -n "${prefix}-${name}" link set eth0 up
    ip -n "${prefix}-${name}" link set lo up
    i=$((i + 1))
  done
  trap - ERR
}

[ $# -ge 2 ] || usage
case "$1" in
  up) [ $# -ge 4 ] || usage; shift; up "$@" ;;
  down) down "$2" ;;
  *) usage ;;
esac
