#include "hostd/filter.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

void fbag_add(struct fbag *b, const char *name, const char *value)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->e = realloc(b->e, b->cap * sizeof(*b->e));
		if (!b->e)
			abort();
	}
	b->e[b->n].name = name;
	b->e[b->n].value = value ? value : "";
	b->n++;
}

static const char *fbag_own(struct fbag *b, char *s)
{
	if (b->nowned == b->capowned) {
		b->capowned = b->capowned ? b->capowned * 2 : 8;
		b->owned = realloc(b->owned, b->capowned * sizeof(*b->owned));
		if (!b->owned)
			abort();
	}
	b->owned[b->nowned++] = s;
	return s;
}

void fbag_own_pair(struct fbag *b, char *a, char *c)
{
	fbag_add(b, fbag_own(b, a), fbag_own(b, c));
}

void fbag_add_int(struct fbag *b, const char *name, int64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%" PRId64, v);
	fbag_add(b, name, fbag_own(b, xstrdup(tmp)));
}

void fbag_add_bool(struct fbag *b, const char *name, bool v)
{
	fbag_add(b, name, v ? "true" : "false");
}

void fbag_add_tag(struct fbag *b, const char *key, const char *value)
{
	size_t n = strlen(key) + 5;
	char *tk = xmalloc(n);

	snprintf(tk, n, "tag:%s", key);
	fbag_add(b, fbag_own(b, tk), value);
	fbag_add(b, "tag-key", key);
	fbag_add(b, "tag-value", value);
}

void fbag_reset(struct fbag *b)
{
	for (size_t i = 0; i < b->nowned; i++)
		free(b->owned[i]);
	b->nowned = 0;
	b->n = 0;
}

void fbag_free(struct fbag *b)
{
	fbag_reset(b);
	free(b->owned);
	free(b->e);
	memset(b, 0, sizeof(*b));
}

/* Iterative glob with single-star backtracking: linear in practice and
 * never recursive, so hostile patterns cannot blow the stack. */
bool wildcard_match(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;

	while (*s) {
		if (*p == '\\' && p[1]) {
			if (p[1] == *s) {
				p += 2, s++;
				continue;
			}
		} else if (*p == '?') {
			/* One character: a whole UTF-8 sequence, not one byte. */
			p++, s++;
			while (((unsigned char)*s & 0xc0) == 0x80)
				s++;
			continue;
		} else if (*p == '*') {
			star_p = ++p;
			star_s = s;
			continue;
		} else if (*p && *p == *s) {
			p++, s++;
			continue;
		}
		if (!star_p)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

bool filter_set_match(const struct filter_set *fs, const struct fbag *b)
{
	for (size_t i = 0; i < fs->n; i++) {
		const struct filter *f = &fs->f[i];
		bool hit = false;

		for (size_t k = 0; k < b->n && !hit; k++) {
			if (strcmp(b->e[k].name, f->name) != 0)
				continue;
			for (size_t v = 0; v < f->nvalues && !hit; v++)
				hit = wildcard_match(f->values[v], b->e[k].value);
		}
		if (!hit)
			return false;
	}
	return true;
}

void filter_set_free(struct filter_set *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->f[i].name);
		for (size_t v = 0; v < fs->f[i].nvalues; v++)
			free(fs->f[i].values[v]);
		free(fs->f[i].values);
	}
	free(fs->f);
	fs->f = NULL;
	fs->n = 0;
}

bool filter_name_allowed(const char *name, const char *const *allowed, bool allow_tags)
{
	if (allow_tags && (strncmp(name, "tag:", 4) == 0 ? name[4] != '\0' :
			   strcmp(name, "tag-key") == 0 || strcmp(name, "tag-value") == 0))
		return true;
	for (size_t i = 0; allowed && allowed[i]; i++)
		if (strcmp(allowed[i], name) == 0)
			return true;
	return false;
}
