/* elf_sections — test helper: prints, for every section of an ELF file as
 * the object layer sees it, its plain DWARF name, the decompressed size
 * and a CRC32 of the decompressed bytes, so tests can check that compressed
 * and uncompressed copies of one file read the same. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "object.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: elf_sections FILE\n");
        return 2;
    }
    ds_object obj;
    sk_error err = {0};
    int rc = ds_object_open(&obj, argv[1], &err);
    if (rc) {
        fprintf(stderr, "elf_sections: %s\n", err.msg);
        ds_object_close(&obj);
        return 1;
    }
    int status = 0;
    for (size_t i = 1; i < obj.nsections; i++) {
        ds_section *s = &obj.sections[i];
        const uint8_t *data;
        size_t size;
        sk_error e = {0};
        if (ds_section_data(&obj, s, &data, &size, &e)) {
            printf("%s ERROR %s\n", s->dwarf_name, e.msg);
            status = 1;
            continue;
        }
        if (ds_section_size(&obj, s) != size) {
            printf("%s SIZE-MISMATCH %zu\n", s->dwarf_name, size);
            status = 1;
        }
        printf("%s %zu %08lx\n", s->dwarf_name, size, data ? crc32_z(0, data, size) : 0ul);
    }
    ds_object_close(&obj);
    return status;
}
