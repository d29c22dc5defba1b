package dev.vessel.core.stdio;

import java.io.Closeable;
import java.io.IOException;

/**
 * A connection to one process's stdio (a container's task, or an exec): frames in both directions.
 * {@link #read()} and {@link #write} may be called from two threads at once; closing detaches, it never
 * ends the process.
 */
public interface StdioChannel extends Closeable {
    /** The next frame from the process, or null once the stream ended. */
    StdioFrame read() throws IOException;

    /** Sends a frame towards the process. */
    void write(StdioFrame frame) throws IOException;
}
