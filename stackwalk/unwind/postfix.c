/* postfix.c — the postfix language of STACK CFI rules and STACK WIN
 * programs, and applying a CFI rule set to unwind one frame.
 *
 * Rule sets come from .sym files we did not write, so every token is
 * checked: an unknown register, a short stack or unreadable memory makes
 * the rule fail (and the walker falls back to other methods) rather than
 * produce a guess. */
#include "unwind.h"

#include <string.h>

#define PF_STACK 32

typedef struct pf_item {
    bool is_name;
    const char *name;
    size_t len;
    uint64_t v;
} pf_item;

static uint64_t truncate_ptr(const sw_walker *w, uint64_t v)
{
    return w->cpu->ptr_size == 4 ? (v & 0xffffffffu) : v;
}

bool sw_pf_get(const sw_pf_env *env, const char *name, uint64_t *out)
{
    for (int i = env->nvars - 1; i >= 0; i--)
        if (strcmp(env->vars[i].name, name) == 0) {
            *out = env->vars[i].v;
            return true;
        }
    return false;
}

void sw_pf_set(sw_pf_env *env, const char *name, size_t len, uint64_t v)
{
    if (len >= sizeof env->vars[0].name)
        return;
    for (int i = 0; i < env->nvars; i++)
        if (strlen(env->vars[i].name) == len && memcmp(env->vars[i].name, name, len) == 0) {
            env->vars[i].v = v;
            return;
        }
    if (env->nvars >= (int)(sizeof env->vars / sizeof env->vars[0]))
        return;
    memcpy(env->vars[env->nvars].name, name, len);
    env->vars[env->nvars].name[len] = '\0';
    env->vars[env->nvars].v = v;
    env->nvars++;
}

static bool resolve(const sw_pf_env *env, const pf_item *it, uint64_t *out)
{
    if (!it->is_name) {
        *out = it->v;
        return true;
    }
    char name[24];
    if (it->len >= sizeof name)
        return false;
    memcpy(name, it->name, it->len);
    name[it->len] = '\0';
    if (sw_pf_get(env, name, out))
        return true;
    if (strcmp(name, ".cfa") == 0) {
        *out = env->cfa;
        return env->have_cfa;
    }
    int r = env->w->cpu->reg_by_name(it->name, it->len);
    if (r < 0 || !env->regs || !sw_reg_ok(env->regs, r))
        return false;
    *out = env->regs->r[r];
    return true;
}

static bool parse_number(const char *t, size_t n, uint64_t *out)
{
    bool neg = false;
    if (n && t[0] == '-') {
        neg = true;
        t++;
        n--;
    }
    if (!n)
        return false;
    uint64_t v;
    if (n > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
        if (!sk_parse_hex(t + 2, n - 2, &v))
            return false;
    } else if (!sk_parse_dec(t, n, &v)) {
        return false;
    }
    *out = neg ? (uint64_t)0 - v : v;
    return true;
}

/* Runs tokens [p, end); in expression mode leaves one value on the stack. */
static bool run(sw_pf_env *env, const char *p, const char *end, bool expr, uint64_t *out)
{
    pf_item st[PF_STACK];
    int sp = 0;
    const sw_walker *w = env->w;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p >= end)
            break;
        const char *t = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t)(p - t);
        if (n == 1 && strchr("+-*/%@", *t)) {
            if (sp < 2)
                return false;
            uint64_t a, b;
            if (!resolve(env, &st[sp - 2], &a) || !resolve(env, &st[sp - 1], &b))
                return false;
            uint64_t r;
            switch (*t) {
            case '+': r = a + b; break;
            case '-': r = a - b; break;
            case '*': r = a * b; break;
            case '/':
                if (!b)
                    return false;
                r = a / b;
                break;
            case '%':
                if (!b)
                    return false;
                r = a % b;
                break;
            default: /* '@': align down to a power of two */
                if (!b || (b & (b - 1)))
                    return false;
                r = a & ~(b - 1);
                break;
            }
            sp -= 2;
            st[sp++] = (pf_item){false, NULL, 0, truncate_ptr(w, r)};
        } else if (n == 1 && *t == '^') {
            uint64_t a, v;
            if (sp < 1 || !resolve(env, &st[sp - 1], &a) || !sw_read_word(w, a, &v))
                return false;
            st[sp - 1] = (pf_item){false, NULL, 0, v};
        } else if (n == 1 && *t == '=') {
            uint64_t v;
            if (sp < 2 || !st[sp - 2].is_name || !resolve(env, &st[sp - 1], &v))
                return false;
            sw_pf_set(env, st[sp - 2].name, st[sp - 2].len, v);
            sp -= 2;
        } else {
            if (sp >= PF_STACK)
                return false;
            uint64_t v;
            if ((*t >= '0' && *t <= '9') || (*t == '-' && n > 1)) {
                if (!parse_number(t, n, &v))
                    return false;
                st[sp++] = (pf_item){false, NULL, 0, v};
            } else {
                st[sp++] = (pf_item){true, t, n, 0};
            }
        }
    }
    if (!expr)
        return sp == 0;
    return sp == 1 && resolve(env, &st[0], out);
}

bool sw_pf_eval(sw_pf_env *env, const char *expr, size_t len, uint64_t *out)
{
    return run(env, expr, expr + len, true, out);
}

bool sw_pf_run(sw_pf_env *env, const char *prog, size_t len)
{
    return run(env, prog, prog + len, false, NULL);
}

/* ---- STACK CFI --------------------------------------------------------- */

typedef struct cfi_rule {
    const char *name, *expr;
    size_t name_len, expr_len;
} cfi_rule;

/* Splits "reg: expr reg: expr ..." into rules; a later rule for the same
 * register replaces the earlier one (delta rows follow the INIT). */
static int split_rules(const char *s, cfi_rule *rules, int max)
{
    int n = 0;
    const char *p = s;
    cfi_rule *cur = NULL;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *t = p;
        while (*p && *p != ' ')
            p++;
        size_t len = (size_t)(p - t);
        if (len > 1 && t[len - 1] == ':') {
            cfi_rule *r = NULL;
            for (int i = 0; i < n; i++)
                if (rules[i].name_len == len - 1 && memcmp(rules[i].name, t, len - 1) == 0)
                    r = &rules[i];
            if (!r) {
                if (n >= max)
                    return -1;
                r = &rules[n++];
            }
            r->name = t;
            r->name_len = len - 1;
            r->expr = p;
            r->expr_len = 0;
            cur = r;
        } else {
            if (!cur)
                return -1; /* expression before any register */
            cur->expr_len = (size_t)(p - cur->expr);
        }
    }
    return n;
}

bool sw_cfi_unwind(const sw_walker *w, const char *rules, const sw_regs *callee, sw_regs *caller)
{
    cfi_rule r[SW_MAX_REGS + 8];
    int n = split_rules(rules, r, (int)(sizeof r / sizeof r[0]));
    if (n <= 0)
        return false;
    const sw_cpu *cpu = w->cpu;
    sw_pf_env env;
    memset(&env, 0, sizeof env);
    env.w = w;
    env.regs = callee;
    const cfi_rule *cfa = NULL, *ra = NULL;
    for (int i = 0; i < n; i++) {
        if (r[i].name_len == 4 && memcmp(r[i].name, ".cfa", 4) == 0)
            cfa = &r[i];
        else if (r[i].name_len == 3 && memcmp(r[i].name, ".ra", 3) == 0)
            ra = &r[i];
    }
    if (!cfa || !ra)
        return false;
    uint64_t v;
    if (!sw_pf_eval(&env, cfa->expr, cfa->expr_len, &v))
        return false;
    env.cfa = v;
    env.have_cfa = true;
    memset(caller, 0, sizeof *caller);
    for (unsigned i = 0; i < cpu->nregs; i++)
        if ((cpu->callee_saved >> i & 1) && sw_reg_ok(callee, (int)i))
            sw_reg_set(caller, (int)i, callee->r[i]);
    sw_reg_set(caller, cpu->sp, v);
    if (!sw_pf_eval(&env, ra->expr, ra->expr_len, &v))
        return false;
    sw_reg_set(caller, cpu->pc, v);
    for (int i = 0; i < n; i++) {
        if (&r[i] == cfa || &r[i] == ra)
            continue;
        int reg = cpu->reg_by_name(r[i].name, r[i].name_len);
        if (reg < 0)
            continue; /* a register we do not track: harmless */
        if (sw_pf_eval(&env, r[i].expr, r[i].expr_len, &v))
            sw_reg_set(caller, reg, v);
        else
            caller->valid &= ~(1ull << reg); /* rule present but unusable */
    }
    return true;
}
