/* CreateTags, DeleteTags, DescribeTags. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostd/actions.h"
#include "hostd/api.h"
#include "hostd/hostd.h"
#include "hostd/imdstree.h"
#include "hostd/resources.h"
#include "hostd/store.h"
#include "hostd/tags.h"
#include "lib/buf.h"
#include "lib/util.h"

#define MAX_TAG_RESOURCES 1000

/* ResourceId.N: present, each a known kind of id that this account owns. */
static int resolve_resources(struct api_req *r, const char ***ids, size_t *n,
			     const struct rkind ***kinds)
{
	const struct rkind **k;
	int ret;

	ret = api_list(r, "ResourceId", ids, n);
	if (ret < 0)
		return ret;
	if (*n == 0) {
		free(*ids);
		return api_err_missing(r, "ResourceId.1");
	}
	if (*n > MAX_TAG_RESOURCES) {
		free(*ids);
		return api_err(r, 400, "InvalidParameterValue", "At most %d resources may be tagged at once.",
			       MAX_TAG_RESOURCES);
	}
	k = xcalloc(*n, sizeof(*k));
	for (size_t i = 0; i < *n; i++) {
		const char *id = (*ids)[i];
		int e;

		k[i] = resource_kind(id);
		if (!k[i]) {
			ret = api_err(r, 400, "InvalidID", "The ID '%.64s' is not valid", id);
			goto fail;
		}
		e = resource_exists(r->h->store, k[i], r->account_id, id);
		if (e < 0) {
			ret = api_err_internal(r);
			goto fail;
		}
		if (!e) {
			ret = api_err(r, 400, k[i]->notfound_code, "The %s '%.64s' does not exist", k[i]->noun, id);
			goto fail;
		}
	}
	*kinds = k;
	return 0;
fail:
	free(k);
	free(*ids);
	return ret;
}

/* Instances' tags show in their metadata (tags/instance/ when enabled). */
static void refresh_imds(struct api_req *r, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strncmp(ids[i], "i-", 2))
			(void)imdstree_refresh(r->h, ids[i]);
}

int act_create_tags(struct api_req *r)
{
	struct store *s = r->h->store;
	struct tag_list tags = { 0 };
	const struct rkind **kinds = NULL;
	const char **ids = NULL;
	size_t n = 0;
	int ret;

	ret = resolve_resources(r, &ids, &n, &kinds);
	if (ret < 0)
		return ret;
	ret = tags_parse(r, "Tag", false, &tags);
	if (ret < 0)
		goto out;
	if (tags.n == 0) {
		ret = api_err_missing(r, "Tag.1.Key");
		goto out;
	}
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int e = tags_set(s, r->account_id, ids[i], kinds[i]->type, &tags);

		if (e == -E2BIG) {
			store_rollback(s);
			ret = api_err(r, 400, "TagLimitExceeded",
				      "The maximum number of Tags for a resource has been reached (%s has more than %d).",
				      ids[i], TAGS_PER_RESOURCE);
			goto out;
		}
		if (e < 0) {
			store_rollback(s);
			ret = api_err_internal(r);
			goto out;
		}
	}
	if (store_commit(s) < 0) {
		store_rollback(s);
		ret = api_err_internal(r);
		goto out;
	}
	refresh_imds(r, ids, n);
	xml_bool(&r->x, "return", true);
out:
	tag_list_free(&tags);
	free(kinds);
	free(ids);
	return ret;
}

int act_delete_tags(struct api_req *r)
{
	struct store *s = r->h->store;
	struct tag_list tags = { 0 };
	const struct rkind **kinds = NULL;
	const char **ids = NULL;
	size_t n = 0;
	int ret;

	ret = resolve_resources(r, &ids, &n, &kinds);
	if (ret < 0)
		return ret;
	ret = tags_parse(r, "Tag", true, &tags);
	if (ret < 0)
		goto out;
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		/* No Tag.N: every tag of the resource goes. */
		if (tags.n == 0 && tags_delete_all(s, r->account_id, ids[i]) < 0)
			goto internal;
		for (size_t t = 0; t < tags.n; t++) {
			/* With a Value, only a tag holding exactly that value goes
			 * (an empty Value matches only an empty value). */
			sqlite3_stmt *st = store_stmt(s,
				"DELETE FROM tags WHERE account_id = ?1 AND resource_id = ?2 AND key = ?3 "
				"AND (?4 IS NULL OR value = ?4)");

			if (!st)
				goto internal;
			sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, ids[i], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, tags.t[t].key, -1, SQLITE_STATIC);
			if (tags.t[t].value)
				sqlite3_bind_text(st, 4, tags.t[t].value, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				goto internal;
		}
	}
	if (store_commit(s) < 0)
		goto internal;
	refresh_imds(r, ids, n);
	xml_bool(&r->x, "return", true);
	goto out;
internal:
	store_rollback(s);
	ret = api_err_internal(r);
out:
	tag_list_free(&tags);
	free(kinds);
	free(ids);
	return ret;
}

static const char *const tag_filters[] = { "key", "resource-id", "resource-type", "value", NULL };

int act_describe_tags(struct api_req *r)
{
	struct store *s = r->h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	char *from = NULL, *from_key = NULL;
	int64_t limit = 0, emitted = 0;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_filters(r, tag_filters, true, &fs)) < 0 ||
	    (ret = api_page(r, 5, 1000, &limit, &from)) < 0)
		goto out;
	/* The resume key is the first tag not yet sent, "<resource-id>\n<key>";
	 * tag keys hold no control characters. */
	if (from) {
		from_key = strchr(from, '\n');
		if (!from_key) {
			ret = api_err(r, 400, "InvalidPaginationToken",
				      "The specified pagination token is not valid or is expired.");
			goto out;
		}
		*from_key++ = '\0';
	}
	st = store_stmt(s, "SELECT resource_id, resource_type, key, value FROM tags WHERE account_id = ?1 "
			   "AND (?2 IS NULL OR resource_id > ?2 OR (resource_id = ?2 AND key >= ?3)) "
			   "ORDER BY resource_id, key");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from) {
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, from_key, -1, SQLITE_STATIC);
	}
	xml_open(&r->x, "tagSet");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *rid = (const char *)sqlite3_column_text(st, 0);
		const char *rtype = (const char *)sqlite3_column_text(st, 1);
		const char *key = (const char *)sqlite3_column_text(st, 2);
		const char *value = (const char *)sqlite3_column_text(st, 3);

		if (fs.n) {
			fbag_reset(&bag);
			fbag_add(&bag, "key", key);
			fbag_add(&bag, "value", value);
			fbag_add(&bag, "resource-id", rid);
			fbag_add(&bag, "resource-type", rtype);
			fbag_add_tag(&bag, key, value);
			if (!filter_set_match(&fs, &bag))
				continue;
		}
		if (limit && emitted == limit) {
			/* One more match exists: the next page starts at it. */
			struct buf next = BUF_INIT;

			buf_printf(&next, "%s\n%s", rid, key);
			xml_close(&r->x);
			api_next_token(r, next.data);
			buf_free(&next);
			goto done;
		}
		xml_open(&r->x, "item");
		xml_text(&r->x, "resourceId", rid);
		xml_text(&r->x, "resourceType", rtype);
		xml_text(&r->x, "key", key);
		xml_text(&r->x, "value", value);
		xml_close(&r->x);
		emitted++;
	}
	if (rc != SQLITE_DONE) {
		ret = api_err_internal(r);
		goto out;
	}
	xml_close(&r->x);
done:
	ret = 0;
out:
	free(from);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}
