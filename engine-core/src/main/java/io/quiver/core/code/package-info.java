/**
 * User code as data (DESIGN.md, "User code"): what a client's application class path is
 * ({@link io.quiver.core.code.ClassPath}), and each entry as a jar named by its SHA-256
 * ({@link io.quiver.core.code.CodeJars}), class folders packed deterministically so that the name is
 * stable across runs. Internal: not part of the public API.
 */
package io.quiver.core.code;
