/*
 * dwp_lookup FILE [DWO_ID...] — drives ds_dwp for test_dwp.py: opens FILE's
 * .debug_cu_index and prints, for each id (hex), the contributions
 * ds_dwp_find() gives, one line per id:
 *
 *   0x<id> info=<off>+<size> abbrev=... line=... str_offsets=... rnglists=... loclists=...
 *   0x<id> none
 *
 * Exit status: 0 index read, 2 SK_EFORMAT, 3 SK_ENOTFOUND, 1 anything else;
 * the error message goes to stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "dwp.h"

static void contrib(const char *name, ds_dwp_contrib c)
{
    printf(" %s=0x%" PRIx64 "+0x%" PRIx64, name, c.off, c.size);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dwp_lookup FILE [DWO_ID...]\n");
        return 1;
    }
    sk_error err = {0};
    ds_object obj = {0};
    if (ds_object_open(&obj, argv[1], &err)) {
        fprintf(stderr, "%s\n", err.msg);
        ds_object_close(&obj);
        return 1;
    }
    ds_dwp *dwp = NULL;
    int rc = ds_dwp_open(&obj, &dwp, &err);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        ds_object_close(&obj);
        return rc == SK_EFORMAT ? 2 : rc == SK_ENOTFOUND ? 3 : 1;
    }
    for (int i = 2; i < argc; i++) {
        uint64_t id = strtoull(argv[i], NULL, 16);
        ds_dwp_unit u;
        printf("0x%016" PRIx64, id);
        if (!ds_dwp_find(dwp, id, &u)) {
            printf(" none\n");
            continue;
        }
        contrib("info", u.info);
        contrib("abbrev", u.abbrev);
        contrib("line", u.line);
        contrib("str_offsets", u.str_offsets);
        contrib("rnglists", u.rnglists);
        contrib("loclists", u.loclists);
        printf("\n");
    }
    ds_dwp_close(dwp);
    ds_object_close(&obj);
    return 0;
}
