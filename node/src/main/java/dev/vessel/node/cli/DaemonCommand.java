package dev.vessel.node.cli;

import dev.vessel.node.daemon.Vesseld;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/** {@code vessel daemon [vesseld flags…]}: runs vesseld in the foreground; its flags (and --help) are its own. */
@Command(name = "daemon", description = "Run vesseld in the foreground (see `vessel daemon --help` for its flags).")
final class DaemonCommand implements Callable<Integer> {
    @Unmatched
    private List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
        return new CommandLine(new Vesseld()).execute(args.toArray(String[]::new));
    }
}
