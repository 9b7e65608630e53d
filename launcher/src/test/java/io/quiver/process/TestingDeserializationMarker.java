package io.quiver.process;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serial;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What an attacker would like a Quiver process to deserialize: the moment any JVM reads one back,
 * it creates the file it names. Attack tests send it every way they can and assert that the file
 * never appears, i.e. nothing an unauthenticated peer sent was ever deserialized.
 */
public final class TestingDeserializationMarker implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    private final String file;

    /** @param file the file that deserializing this object creates */
    public TestingDeserializationMarker(Path file) {
        this.file = file.toAbsolutePath().toString();
    }

    /** This object, Java-serialized. */
    public byte[] serialized() {
        try (var bytes = new java.io.ByteArrayOutputStream(); ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(this);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Serial
    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        Files.writeString(Path.of(file), "deserialized in pid " + ProcessHandle.current().pid() + "\n");
    }
}
