#include "hostd/tags.h"

#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "hostd/api.h"
#include "hostd/filter.h"
#include "hostd/store.h"
#include "hostd/xml.h"
#include "lib/util.h"

void tag_list_free(struct tag_list *l)
{
	free(l->t);
	l->t = NULL;
	l->n = 0;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int check_tag(struct api_req *r, const char *kname, const char *key, const char *vname,
		     const char *value)
{
	size_t kl = utf8_len(key, strlen(key));

	if (kl == 0)
		return api_err(r, 400, "InvalidParameterValue", "Tag key must not be empty (%s)", kname);
	if (kl > 128)
		return api_err(r, 400, "InvalidParameterValue",
			       "Tag key exceeds the maximum length of 128 characters (%s)", kname);
	if (!strncasecmp(key, "aws:", 4))
		return api_err(r, 400, "InvalidParameterValue",
			       "Tag keys starting with 'aws:' are reserved for internal use (%s)", kname);
	if (has_control(key))
		return api_err(r, 400, "InvalidParameterValue", "Tag key contains control characters (%s)", kname);
	if (value && utf8_len(value, strlen(value)) > 256)
		return api_err(r, 400, "InvalidParameterValue",
			       "Tag value exceeds the maximum length of 256 characters (%s)", vname);
	if (value && has_control(value))
		return api_err(r, 400, "InvalidParameterValue", "Tag value contains control characters (%s)",
			       vname);
	return 0;
}

int tags_parse(struct api_req *r, const char *prefix, bool for_delete, struct tag_list *out)
{
	unsigned *idx = NULL;
	size_t cnt = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (query_indices(r->q, prefix, &idx, &cnt) < 0)
		return api_err_internal(r);
	if (cnt)
		out->t = xcalloc(cnt, sizeof(*out->t));
	for (size_t i = 0; i < cnt; i++) {
		char kname[QUERY_MAX_NAME + 32], vname[QUERY_MAX_NAME + 32];
		const char *key, *value;

		snprintf(kname, sizeof(kname), "%s.%u.Key", prefix, idx[i]);
		snprintf(vname, sizeof(vname), "%s.%u.Value", prefix, idx[i]);
		key = query_get(r->q, kname);
		value = query_get(r->q, vname);
		if (!key) {
			ret = api_err_missing(r, kname);
			goto out;
		}
		if (!for_delete && !value)
			value = ""; /* CreateTags: a missing value is the empty string */
		if (for_delete) {
			if (!*key) {
				ret = api_err(r, 400, "InvalidParameterValue", "Tag key must not be empty (%s)", kname);
				goto out;
			}
		} else {
			ret = check_tag(r, kname, key, vname, value);
			if (ret < 0)
				goto out;
		}
		for (size_t k = 0; k < out->n; k++)
			if (!strcmp(out->t[k].key, key)) {
				ret = api_err(r, 400, "InvalidParameterValue",
					      "Duplicate tag key '%.128s' (%s)", key, kname);
				goto out;
			}
		out->t[out->n].key = key;
		out->t[out->n].value = value;
		out->n++;
	}
	if (!for_delete && out->n > TAGS_PER_RESOURCE)
		ret = api_err(r, 400, "TagLimitExceeded",
			      "The maximum number of Tags for a resource has been reached (%d).", TAGS_PER_RESOURCE);
out:
	free(idx);
	if (ret < 0)
		tag_list_free(out);
	return ret;
}

static bool word_in(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

int tags_from_specs(struct api_req *r, const char *resource_type, struct tag_list *out)
{
	return tags_from_specs_of(r, resource_type, resource_type, out);
}

int tags_from_specs_of(struct api_req *r, const char *allowed, const char *resource_type, struct tag_list *out)
{
	unsigned *idx = NULL;
	size_t cnt = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (query_indices(r->q, "TagSpecification", &idx, &cnt) < 0)
		return api_err_internal(r);
	for (size_t i = 0; i < cnt; i++) {
		char tname[64], prefix[64];
		const char *type;
		struct tag_list one;

		snprintf(tname, sizeof(tname), "TagSpecification.%u.ResourceType", idx[i]);
		snprintf(prefix, sizeof(prefix), "TagSpecification.%u.Tag", idx[i]);
		type = query_get(r->q, tname);
		if (!type || !*type) {
			ret = api_err_missing(r, tname);
			goto out;
		}
		if (!word_in(allowed, type)) {
			ret = api_err(r, 400, "InvalidParameterValue",
				      "'%.64s' is not a valid taggable resource type for this operation.", type);
			goto out;
		}
		if (strcmp(type, resource_type))
			continue;
		ret = tags_parse(r, prefix, false, &one);
		if (ret < 0)
			goto out;
		if (out->n + one.n > TAGS_PER_RESOURCE) {
			tag_list_free(&one);
			ret = api_err(r, 400, "TagLimitExceeded",
				      "The maximum number of Tags for a resource has been reached (%d).",
				      TAGS_PER_RESOURCE);
			goto out;
		}
		out->t = realloc(out->t, (out->n + one.n + 1) * sizeof(*out->t));
		if (!out->t)
			abort();
		for (size_t k = 0; k < one.n; k++) {
			for (size_t j = 0; j < out->n; j++)
				if (!strcmp(out->t[j].key, one.t[k].key)) {
					tag_list_free(&one);
					ret = api_err(r, 400, "InvalidParameterValue",
						      "Duplicate tag key '%.128s' in TagSpecification", out->t[j].key);
					goto out;
				}
			out->t[out->n++] = one.t[k];
		}
		tag_list_free(&one);
	}
out:
	free(idx);
	if (ret < 0)
		tag_list_free(out);
	return ret;
}

int tags_set(struct store *s, const char *account, const char *resource_id, const char *resource_type,
	     const struct tag_list *tags)
{
	sqlite3_stmt *st;

	for (size_t i = 0; i < tags->n; i++) {
		st = store_stmt(s, "INSERT INTO tags(account_id, resource_id, resource_type, key, value) "
				   "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value");
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, resource_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, resource_type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, tags->t[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, tags->t[i].value ? tags->t[i].value : "", -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return -EIO;
	}
	st = store_stmt(s, "SELECT count(*) FROM tags WHERE account_id = ? AND resource_id = ?");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, resource_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	return sqlite3_column_int(st, 0) > TAGS_PER_RESOURCE ? -E2BIG : 0;
}

int tags_delete_all(struct store *s, const char *account, const char *resource_id)
{
	sqlite3_stmt *st = store_stmt(s, "DELETE FROM tags WHERE account_id = ? AND resource_id = ?");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, resource_id, -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

static const char tags_of_sql[] =
	"SELECT key, value FROM tags WHERE account_id = ? AND resource_id = ? ORDER BY key";

/* The resource's tags, ordered by key: a bound statement, or NULL. */
static sqlite3_stmt *tags_of(struct store *s, const char *account, const char *resource_id)
{
	sqlite3_stmt *st = store_stmt(s, tags_of_sql);

	if (st) {
		sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, resource_id, -1, SQLITE_STATIC);
	}
	return st;
}

int tags_write(struct store *s, struct xml *x, const char *account, const char *resource_id)
{
	sqlite3_stmt *st = tags_of(s, account, resource_id);
	int rc;

	if (!st)
		return -EIO;
	xml_open(x, "tagSet");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		xml_open(x, "item");
		xml_text(x, "key", (const char *)sqlite3_column_text(st, 0));
		xml_text(x, "value", (const char *)sqlite3_column_text(st, 1));
		xml_close(x);
	}
	xml_close(x);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int tags_fbag(struct store *s, struct fbag *b, const char *account, const char *resource_id)
{
	sqlite3_stmt *st = tags_of(s, account, resource_id);
	int rc;

	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *k = xstrdup((const char *)sqlite3_column_text(st, 0));
		char *v = xstrdup((const char *)sqlite3_column_text(st, 1));

		fbag_own_pair(b, k, v);
		fbag_add_tag(b, k, v);
	}
	return rc == SQLITE_DONE ? 0 : -EIO;
}
