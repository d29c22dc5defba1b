package dev.vessel.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ACL entries written here are checked by the kernel itself: commands run as other users
 * ({@code setpriv}) read what they were granted and nothing else.
 */
class PosixAclsTest {
    private static final int NOBODY = 65534;
    private static final int OTHER_USER = 65533;

    @TempDir
    Path tmp;

    @Test
    void aGrantedUserReadsWhatNobodyElseCan() throws Exception {
        requireRoot();
        Path dir = Files.createDirectory(tmp.resolve("private"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path file = Files.writeString(dir.resolve("secret"), "s3cret", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        assertNotEquals(0, runAs(NOBODY, "cat", file.toString()).exit());

        PosixAcls.grantUser(dir, NOBODY, PosixAcls.EXECUTE);
        PosixAcls.grantUser(file, NOBODY, PosixAcls.READ);

        Result read = runAs(NOBODY, "cat", file.toString());
        assertEquals(0, read.exit(), read.output());
        assertEquals("s3cret", read.output());
        assertNotEquals(0, runAs(NOBODY, "ls", dir.toString()).exit(), "execute only: no listing");
        assertNotEquals(0, runAs(OTHER_USER, "cat", file.toString()).exit(), "another user is still kept out");
        assertNotEquals(0, runAs(NOBODY, "sh", "-c", "echo x >> " + file).exit(), "read only");
        assertEquals(Optional.of(PosixAcls.READ), PosixAcls.userEntry(file, NOBODY));
        assertEquals(Optional.empty(), PosixAcls.userEntry(file, OTHER_USER));
    }

    @Test
    void aSecondGrantKeepsTheFirstAndReplacesItsOwnEntry() throws Exception {
        requireRoot();
        Path file = Files.writeString(tmp.resolve("shared"), "x", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));

        PosixAcls.grantUser(file, OTHER_USER, PosixAcls.READ);
        PosixAcls.grantUser(file, NOBODY, PosixAcls.READ);
        PosixAcls.grantUser(file, NOBODY, PosixAcls.READ | PosixAcls.WRITE);

        assertEquals(0, runAs(OTHER_USER, "cat", file.toString()).exit());
        assertEquals(0, runAs(NOBODY, "sh", "-c", "echo y >> " + file).exit());
        assertEquals(Optional.of(PosixAcls.READ), PosixAcls.userEntry(file, OTHER_USER));
        assertEquals(Optional.of(PosixAcls.READ | PosixAcls.WRITE), PosixAcls.userEntry(file, NOBODY));
        // the owner's own bits are as they were; the group bits show the mask
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    }

    @Test
    void aDefaultEntryReachesWhatIsCreatedLater() throws Exception {
        requireRoot();
        Path dir = Files.createDirectory(tmp.resolve("volume"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        PosixAcls.grantUser(dir, NOBODY, PosixAcls.READ | PosixAcls.WRITE | PosixAcls.EXECUTE);
        PosixAcls.grantUserByDefault(dir, NOBODY, PosixAcls.READ | PosixAcls.WRITE | PosixAcls.EXECUTE);

        Path later = Files.createDirectory(dir.resolve("later"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwx---")));

        Result write = runAs(NOBODY, "sh", "-c", "echo hi > " + later.resolve("f") + " && cat " + later.resolve("f"));
        assertEquals(0, write.exit(), write.output());
        assertEquals("hi\n", write.output());
        assertNotEquals(0, runAs(OTHER_USER, "ls", later.toString()).exit());
    }

    private record Result(int exit, String output) {
    }

    private static Result runAs(int uid, String... command) throws IOException, InterruptedException {
        String[] argv = new String[command.length + 5];
        argv[0] = "setpriv";
        argv[1] = "--reuid=" + uid;
        argv[2] = "--regid=" + uid;
        argv[3] = "--clear-groups";
        argv[4] = "--";
        System.arraycopy(command, 0, argv, 5, command.length);
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return new Result(p.exitValue(), out);
    }

    private static void requireRoot() {
        assertEquals("root", System.getProperty("user.name"), "these tests change owners' access and need root");
    }
}
