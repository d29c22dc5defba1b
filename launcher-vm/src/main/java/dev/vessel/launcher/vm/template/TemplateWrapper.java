package dev.vessel.launcher.vm.template;

import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.launcher.vm.domain.DomainXml;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * The emulator of a template's domains: a script that libvirt runs in QEMU's place, which changes two of
 * libvirt's memory backends on QEMU's command line and runs QEMU. libvirt 9.0 cannot name the file of a guest's
 * RAM (it names it itself, per start) nor map a memory device shared and read-only, and those two are what a
 * template is made of:
 * <ul>
 *   <li>the guest's RAM ({@code ram-node0}) becomes the template's {@code memory} file: mapped shared while the
 *       template is built (the file then holds the guest's RAM as it is saved), privately in a clone (the clones
 *       read the file's pages from the host's page cache, one copy for all, and keep their own writes);</li>
 *   <li>the software image's NVDIMM ({@code memnvdimm0}) is mapped shared and read-only, so that the saved state
 *       leaves it out (QEMU's {@code x-ignore-shared} skips shared memory) and clones map the same pages;</li>
 *   <li>a clone starts waiting for its saved state ({@code -incoming defer}), the template's {@code state} file
 *       open as descriptor 3, which {@link TemplateMigration} tells QEMU to read.</li>
 * </ul>
 * Without the role variable (libvirt probing what the emulator can do) the script is QEMU unchanged. It fails,
 * saying so, when libvirt's command line lacks either backend: a template is never made of a guest it does not
 * understand.
 */
public final class TemplateWrapper {
    /** What the template's directory path may hold: it is written into JSON and QEMU's option syntax. */
    private static final Pattern SAFE_PATH = Pattern.compile("[A-Za-z0-9/_.+-]+");

    private TemplateWrapper() {
    }

    /**
     * Writes the wrapper of {@code qemu} at {@code wrapper} unless it holds this script already: libvirt probes an
     * emulator again whenever its file changes (seconds), so an unchanged one is left as it is.
     */
    public static void install(Path wrapper, Path qemu) throws IOException {
        AtomicFiles.installExecutable(wrapper, script(qemu).getBytes(StandardCharsets.UTF_8));
    }

    /** Refuses a template directory whose path the script could not pass on as it is. */
    public static Path checkDir(Path dir) {
        if (!SAFE_PATH.matcher(dir.toString()).matches()) {
            throw new IllegalArgumentException("a template's directory " + dir
                    + " must be made of letters, digits and / _ . + - (it is written into QEMU's options)");
        }
        return dir;
    }

    static String script(Path qemu) {
        String path = qemu.toString();
        if (!SAFE_PATH.matcher(path).matches()) {
            throw new IllegalArgumentException("QEMU's path " + path + " must be made of letters, digits and / _ . + -");
        }
        return """
                #!/bin/bash
                # Vessel's guest templates: QEMU with the guest's RAM on the template's memory file. Written by
                # vesseld (see TemplateWrapper); libvirt runs it as a domain's emulator, as QEMU's user.
                set -eu
                qemu=%s
                role=${%s:-}
                if [ -z "$role" ]; then
                  exec "$qemu" "$@"
                fi
                dir=${%s:?names no template directory}
                case "$role" in
                  build) share=true ;;
                  clone) share=false ;;
                  *) echo "vessel: unknown template role '$role'" >&2; exit 1 ;;
                esac
                ram=
                nvdimm=
                args=()
                for arg in "$@"; do
                  case "$arg" in
                    '{"qom-type":"memory-backend-ram","id":"ram-node0",'*)
                      size=${arg##*'"size":'}
                      size=${size%%\\}}
                      case "$size" in ''|*[!0-9]*) echo "vessel: cannot read the guest RAM's size from $arg" >&2; exit 1 ;; esac
                      arg="{\\"qom-type\\":\\"memory-backend-file\\",\\"id\\":\\"ram-node0\\",\\"mem-path\\":\\"$dir/memory\\",\\"share\\":$share,\\"size\\":$size}"
                      ram=1 ;;
                    '{"qom-type":"memory-backend-file","id":"memnvdimm0",'*'"share":false'*)
                      arg=${arg/'"share":false'/'"share":true,"readonly":true'}
                      nvdimm=1 ;;
                  esac
                  args+=("$arg")
                done
                if [ -z "$ram" ] || [ -z "$nvdimm" ]; then
                  echo "vessel: no guest RAM (ram-node0) or software image (memnvdimm0) on QEMU's command line to make a template of" >&2
                  exit 1
                fi
                if [ "$role" = clone ]; then
                  exec 3<"$dir/state"
                  args+=(-incoming defer)
                fi
                exec "$qemu" "${args[@]}"
                """.formatted(path, DomainXml.TEMPLATE_ROLE_VARIABLE, DomainXml.TEMPLATE_DIR_VARIABLE);
    }
}
