/* fuzz_minidump.c — libFuzzer entry point over the whole pipeline: open a
 * minidump from memory, process it (symbols from SW_FUZZ_SYMBOLS when set),
 * and write every report format.  Also linked into the deterministic
 * mutation test, so gcc + ASan CI runs it without libFuzzer. */
#include "stackwalk.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_minidump *dump;
    sk_error err;
    if (sw_minidump_open_mem(data, size, &dump, &err))
        return 0;
    const char *sym = getenv("SW_FUZZ_SYMBOLS");
    const char *paths[1] = {sym};
    sw_options opt = {0};
    opt.symbol_paths = paths;
    opt.nsymbol_paths = sym ? 1 : 0;
    opt.max_frames = 64;
    opt.recover_function_args = true; /* --features unstable-all */
    sw_report *r;
    if (!sw_process(dump, &opt, &r, &err)) {
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            sw_report_write_json(r, true, null, &err);
            sw_report_write_human(r, false, null, &err);
            sw_report_write_machine(r, null, &err);
            fclose(null);
        }
        sw_report_free(r);
    }
    sw_minidump_close(dump);
    return 0;
}
