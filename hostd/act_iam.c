/* IAM instance profiles and their role credentials (act_iam.h).
 *
 * A profile is config (`instance_profile = NAME:ROLE` in an account's
 * section); its ARN is arn:aws:iam::<account>:instance-profile/<name> and
 * its id AIPA + 17 characters derived from the account and name, so both
 * are stable without a table. An association is a row of iam_assocs:
 * associating -> associated, disassociating -> disassociated, each step
 * taken by the reconciler after it rewrote the instance's metadata tree.
 * Credentials are minted per association when the tree is built and none
 * are current: a new set once the current one is within the refresh
 * window of its expiry, the old one still valid until it expires. */
#include "hostd/act_iam.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "hostd/api.h"
#include "hostd/config.h"
#include "hostd/filter.h"
#include "hostd/hostd.h"
#include "hostd/imdstree.h"
#include "hostd/instances.h"
#include "hostd/store.h"
#include "hostd/xml.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/util.h"

/* Forgotten this long after they expired (until then a request with them
 * gets RequestExpired rather than an unknown key's AuthFailure). */
#define IAM_EXPIRED_KEEP_MS (3600 * 1000LL)

static void profile_arn(const char *account, const char *name, char *out, size_t len)
{
	snprintf(out, len, "arn:aws:iam::%s:instance-profile/%s", account, name);
}

/* AIPA + 17 of IAM's id characters (upper case and digits), from a hash of
 * account and name: the same profile keeps its id across restarts. */
static void profile_id(const char *account, const char *name, char out[22])
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char md[SHA256_DIGEST_LENGTH];
	char in[160];
	int n = snprintf(in, sizeof(in), "%s/%s", account, name);

	SHA256((const unsigned char *)in, (size_t)n < sizeof(in) ? (size_t)n : sizeof(in) - 1, md);
	memcpy(out, "AIPA", 4);
	for (int i = 0; i < 17; i++)
		out[4 + i] = alpha[md[i] & 31];
	out[21] = '\0';
}

static int64_t lifetime_ms(const struct hostd *h)
{
	return (int64_t)h->cfg->iam_credential_lifetime_s * 1000;
}

static int64_t refresh_ms(const struct hostd *h)
{
	int s = h->cfg->iam_credential_refresh_s;

	return (int64_t)(s > 0 ? s : h->cfg->iam_credential_lifetime_s / 6) * 1000;
}

int64_t iam_identity_period(const struct hostd *h, int64_t now, int64_t *issued_ms, int64_t *expires_ms)
{
	int64_t step = lifetime_ms(h) - refresh_ms(h), k = now / step;

	if (issued_ms)
		*issued_ms = k * step;
	if (expires_ms)
		*expires_ms = k * step + lifetime_ms(h);
	return k;
}

/* --- request parameters ---------------------------------------------------- */

/* arn:aws:iam::<12 digits>:instance-profile/[path/]name -> account, name. */
static int parse_arn(const char *arn, char account[13], const char **name)
{
	static const char pre[] = "arn:aws:iam::", mid[] = ":instance-profile/";
	const char *p = arn, *slash;

	if (strncmp(p, pre, strlen(pre)))
		return -EINVAL;
	p += strlen(pre);
	for (int i = 0; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
	memcpy(account, p, 12);
	account[12] = '\0';
	p += 12;
	if (strncmp(p, mid, strlen(mid)))
		return -EINVAL;
	p += strlen(mid);
	slash = strrchr(p, '/');
	*name = slash ? slash + 1 : p;
	return **name ? 0 : -EINVAL;
}

int iam_profile_param(struct api_req *r, const char *prefix, const struct config_profile **out)
{
	char kname[96], karn[96], acct[13];
	const char *name, *arn, *arn_name = NULL;
	const struct config_profile *p = NULL;

	*out = NULL;
	snprintf(kname, sizeof(kname), "%s.Name", prefix);
	snprintf(karn, sizeof(karn), "%s.Arn", prefix);
	name = api_str(r, kname);
	arn = api_str(r, karn);
	if (!name && !arn)
		return 0;
	if (arn) {
		/* Another account's profile is as unknown as a missing one. */
		if (parse_arn(arn, acct, &arn_name) < 0 || strcmp(acct, r->account_id) ||
		    !(p = config_profile_find(r->h->cfg, r->account_id, arn_name)))
			return api_err(r, 400, "InvalidParameterValue",
				       "Value (%.200s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM "
				       "Instance Profile ARN", arn);
	}
	if (name) {
		if (arn && strcmp(name, arn_name))
			return api_err(r, 400, "InvalidParameterCombination",
				       "The parameters iamInstanceProfile.name (%.128s) and iamInstanceProfile.arn "
				       "name different instance profiles.", name);
		if (!(p = config_profile_find(r->h->cfg, r->account_id, name)))
			return api_err(r, 400, "InvalidParameterValue",
				       "Value (%.128s) for parameter iamInstanceProfile.name is invalid. Invalid IAM "
				       "Instance Profile name", name);
	}
	*out = p;
	return 0;
}

/* --- associations ---------------------------------------------------------- */

int iam_assoc_insert(struct hostd *h, const char *account, const char *instance_id, const char *profile,
		     char *assoc_id)
{
	sqlite3_stmt *st;

	if (id_new("iip-assoc", assoc_id) < 0)
		return -EIO;
	st = store_stmt(h->store, "INSERT INTO iam_assocs(id, account_id, instance_id, profile_name, state, created_ms) "
				  "VALUES (?1, ?2, ?3, ?4, 'associating', ?5)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, assoc_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, instance_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, profile, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_ms());
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

struct assoc {
	char id[ID_MAX], account[13], instance[ID_MAX], profile[129], state[16];
	int64_t created_ms;
};

#define ASSOC_COLS "id, account_id, instance_id, profile_name, state, created_ms"

static void assoc_from_row(sqlite3_stmt *st, struct assoc *a)
{
	snprintf(a->id, sizeof(a->id), "%s", store_text(st, 0));
	snprintf(a->account, sizeof(a->account), "%s", store_text(st, 1));
	snprintf(a->instance, sizeof(a->instance), "%s", store_text(st, 2));
	snprintf(a->profile, sizeof(a->profile), "%s", store_text(st, 3));
	snprintf(a->state, sizeof(a->state), "%s", store_text(st, 4));
	a->created_ms = sqlite3_column_int64(st, 5);
}

/* The instance's live (associating or associated) association: 0, -ENOENT. */
static int live_assoc(struct hostd *h, const char *instance_id, struct assoc *a)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT " ASSOC_COLS " FROM iam_assocs WHERE instance_id = ?1 AND "
						"state IN ('associating', 'associated') ORDER BY created_ms DESC LIMIT 1");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		assoc_from_row(st, a);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static void write_profile(struct xml *x, const char *account, const char *name)
{
	char arn[300], id[22];

	profile_arn(account, name, arn, sizeof(arn));
	profile_id(account, name, id);
	xml_open(x, "iamInstanceProfile");
	xml_text(x, "arn", arn);
	xml_text(x, "id", id);
	xml_close(x);
}

static void write_assoc(struct xml *x, const struct assoc *a, const char *tag)
{
	xml_open(x, tag);
	xml_text(x, "associationId", a->id);
	xml_text(x, "instanceId", a->instance);
	write_profile(x, a->account, a->profile);
	xml_text(x, "state", a->state);
	xml_time(x, "timestamp", a->created_ms);
	xml_close(x);
}

int iam_write_instance(struct api_req *r, const char *instance_id)
{
	struct assoc a = { 0 };
	int ret = live_assoc(r->h, instance_id, &a);

	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	write_profile(&r->x, a.account, a.profile);
	return 0;
}

void iam_instance_arn(struct hostd *h, const char *instance_id, char *out, size_t len)
{
	struct assoc a = { 0 };

	out[0] = '\0';
	if (live_assoc(h, instance_id, &a) == 0)
		profile_arn(a.account, a.profile, out, len);
}

/* The account's instance, for association: 0 (state copied), or -1 with
 * r's error set. */
static int assoc_instance(struct api_req *r, const char *id)
{
	sqlite3_stmt *st;
	char state[16];

	if (!id_valid("i", id))
		return api_err(r, 400, "InvalidInstanceID.Malformed", "Invalid id: \"%.64s\"", id);
	st = store_stmt(r->h->store, "SELECT state FROM instances WHERE id = ?1 AND account_id = ?2");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return api_err(r, 400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id);
	}
	snprintf(state, sizeof(state), "%s", store_text(st, 0));
	sqlite3_reset(st);
	if (!strcmp(state, "terminated") || !strcmp(state, "shutting-down"))
		return api_err(r, 400, "IncorrectInstanceState",
			       "The instance '%s' is not in a valid state for this operation.", id);
	return 0;
}

/* The account's live association by id: 0, or -1 with r's error set. */
static int find_assoc(struct api_req *r, const char *id, struct assoc *a)
{
	sqlite3_stmt *st;
	int rc;

	if (!id_valid("iip-assoc", id))
		return api_err(r, 400, "InvalidAssociationID.NotFound", "The association ID '%.64s' does not exist", id);
	st = store_stmt(r->h->store, "SELECT " ASSOC_COLS " FROM iam_assocs WHERE id = ?1 AND account_id = ?2");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		assoc_from_row(st, a);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW || (strcmp(a->state, "associating") && strcmp(a->state, "associated")))
		return api_err(r, 400, "InvalidAssociationID.NotFound", "The association ID '%s' does not exist", id);
	return 0;
}

static int set_state(struct hostd *h, const char *id, const char *state, bool ended)
{
	sqlite3_stmt *st = store_stmt(h->store, "UPDATE iam_assocs SET state = ?2, ended_ms = CASE WHEN ?3 THEN "
						"COALESCE(ended_ms, ?4) ELSE ended_ms END WHERE id = ?1");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, ended);
	sqlite3_bind_int64(st, 4, now_ms());
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

/* The association just written, as the API answers it. */
static int answer(struct api_req *r, const char *id)
{
	sqlite3_stmt *st = store_stmt(r->h->store, "SELECT " ASSOC_COLS " FROM iam_assocs WHERE id = ?1");
	struct assoc a = { 0 };

	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return api_err_internal(r);
	}
	assoc_from_row(st, &a);
	sqlite3_reset(st);
	write_assoc(&r->x, &a, "iamInstanceProfileAssociation");
	return 0;
}

static int need_profile(struct api_req *r, const struct config_profile **p)
{
	int ret = iam_profile_param(r, "IamInstanceProfile", p);

	if (ret < 0)
		return ret;
	if (!*p)
		return api_err_missing(r, "IamInstanceProfile");
	return 0;
}

int act_associate_iam_instance_profile(struct api_req *r)
{
	const struct config_profile *p;
	const char *iid;
	char id[ID_MAX];
	struct assoc cur = { 0 };
	int ret;

	if ((ret = need_profile(r, &p)) < 0 || (ret = api_need_str(r, "InstanceId", &iid)) < 0 ||
	    (ret = assoc_instance(r, iid)) < 0)
		return ret;
	ret = live_assoc(r->h, iid, &cur);
	if (ret == 0)
		return api_err(r, 400, "IncorrectState", "There is an existing association for instance %s", iid);
	if (ret != -ENOENT || iam_assoc_insert(r->h, r->account_id, iid, p->name, id) < 0)
		return api_err_internal(r);
	/* The tree gets the credentials now; the reconciler then reports the
	 * association as associated. */
	imdstree_refresh(r->h, iid);
	instmgr_kick(r->h);
	log_info("iam", "%s: instance profile %s associated (%s)", iid, p->name, id);
	return answer(r, id);
}

int act_disassociate_iam_instance_profile(struct api_req *r)
{
	const char *aid;
	struct assoc a = { 0 };
	int ret;

	if ((ret = api_need_str(r, "AssociationId", &aid)) < 0 || (ret = find_assoc(r, aid, &a)) < 0)
		return ret;
	if (set_state(r->h, a.id, "disassociating", true) < 0)
		return api_err_internal(r);
	/* iam/ leaves the tree at once; credentials already handed out stay
	 * valid until they expire, as STS credentials do. */
	imdstree_refresh(r->h, a.instance);
	instmgr_kick(r->h);
	log_info("iam", "%s: instance profile %s disassociated (%s)", a.instance, a.profile, a.id);
	return answer(r, a.id);
}

int act_replace_iam_instance_profile_association(struct api_req *r)
{
	const struct config_profile *p;
	const char *aid;
	char id[ID_MAX];
	struct assoc a = { 0 };
	int ret;

	if ((ret = need_profile(r, &p)) < 0 || (ret = api_need_str(r, "AssociationId", &aid)) < 0 ||
	    (ret = find_assoc(r, aid, &a)) < 0)
		return ret;
	if (store_begin(r->h->store) < 0)
		return api_err_internal(r);
	if (set_state(r->h, a.id, "disassociated", true) < 0 ||
	    iam_assoc_insert(r->h, r->account_id, a.instance, p->name, id) < 0 || store_commit(r->h->store) < 0) {
		store_rollback(r->h->store);
		return api_err_internal(r);
	}
	imdstree_refresh(r->h, a.instance);
	instmgr_kick(r->h);
	log_info("iam", "%s: instance profile %s replaced by %s (%s)", a.instance, a.profile, p->name, id);
	return answer(r, id);
}

static const char *const assoc_filters[] = { "instance-id", "state", NULL };

int act_describe_iam_instance_profile_associations(struct api_req *r)
{
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL;
	size_t nids = 0;
	char *from = NULL;
	int64_t limit = 0, emitted = 0;
	sqlite3_stmt *st = NULL;
	int ret, rc;

	if ((ret = api_list(r, "AssociationId", &ids, &nids)) < 0 ||
	    (ret = api_filters(r, assoc_filters, false, &fs)) < 0 || (ret = api_page(r, 5, 1000, &limit, &from)) < 0)
		goto out;
	if (nids && limit) {
		ret = api_err(r, 400, "InvalidParameterCombination",
			      "The parameter AssociationIds cannot be used with the parameter MaxResults");
		goto out;
	}
	st = store_stmt(r->h->store, "SELECT " ASSOC_COLS " FROM iam_assocs WHERE account_id = ?1 AND id = ?2");
	for (size_t i = 0; st && i < nids; i++) {
		bool found;

		sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ids[i], -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_reset(st);
		if (!found) {
			ret = api_err(r, 400, "InvalidAssociationID.NotFound",
				      "The association ID '%.64s' does not exist", ids[i]);
			goto out;
		}
	}
	st = store_stmt(r->h->store, "SELECT " ASSOC_COLS " FROM iam_assocs WHERE account_id = ?1 AND "
				     "(?2 IS NULL OR id >= ?2) ORDER BY id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	xml_open(&r->x, "iamInstanceProfileAssociationSet");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct assoc a = { 0 };

		assoc_from_row(st, &a);
		if (nids && !strv_contains(ids, nids, a.id))
			continue;
		if (fs.n) {
			fbag_reset(&bag);
			fbag_add(&bag, "instance-id", a.instance);
			fbag_add(&bag, "state", a.state);
			if (!filter_set_match(&fs, &bag))
				continue;
		}
		if (limit && emitted == limit) {
			xml_close(&r->x);
			api_next_token(r, a.id);
			goto done;
		}
		write_assoc(&r->x, &a, "item");
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
	if (st)
		sqlite3_reset(st);
	free(ids);
	free(from);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

/* --- credentials ----------------------------------------------------------- */

/* The association's newest credentials: 0, -ENOENT when none. */
static int current_creds(struct hostd *h, const char *assoc_id, struct iam_tree *out)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT c.access_key, c.secret_key, c.session_token, c.expires_ms, "
						"ic.issued_ms, c.account_id FROM iam_creds ic JOIN credentials c ON "
						"c.access_key = ic.access_key WHERE ic.assoc_id = ?1 "
						"ORDER BY ic.issued_ms DESC LIMIT 1");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, assoc_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct credential *c = &out->cred;

		snprintf(c->access_key, sizeof(c->access_key), "%s", store_text(st, 0));
		snprintf(c->secret_key, sizeof(c->secret_key), "%s", store_text(st, 1));
		snprintf(c->session_token, sizeof(c->session_token), "%s", store_text(st, 2));
		c->expires_ms = sqlite3_column_int64(st, 3);
		out->issued_ms = sqlite3_column_int64(st, 4);
		snprintf(c->account_id, sizeof(c->account_id), "%s", store_text(st, 5));
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int mint(struct hostd *h, const struct assoc *a, struct iam_tree *out)
{
	int64_t now = now_ms();
	sqlite3_stmt *st;
	int ret;

	if ((ret = accounts_mint_temporary(h->store, a->account, now + lifetime_ms(h), &out->cred)) < 0)
		return ret;
	st = store_stmt(h->store, "INSERT INTO iam_creds(access_key, assoc_id, issued_ms, expires_ms) "
				  "VALUES (?1, ?2, ?3, ?4)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, out->cred.access_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, out->cred.expires_ms);
	if (sqlite3_step(st) != SQLITE_DONE)
		return -EIO;
	out->issued_ms = now;
	log_info("iam", "%s: new credentials %s for role %s, until %lld", a->instance, out->cred.access_key,
		 out->role, (long long)(out->cred.expires_ms / 1000));
	return 0;
}

int iam_tree_creds(struct hostd *h, const char *instance_id, struct iam_tree *out)
{
	const struct config_profile *p;
	struct assoc a = { 0 };
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = live_assoc(h, instance_id, &a)) < 0)
		return ret;
	/* A profile taken out of the config hands out nothing more. */
	p = config_profile_find(h->cfg, a.account, a.profile);
	if (!p)
		return -ENOENT;
	profile_arn(a.account, a.profile, out->arn, sizeof(out->arn));
	profile_id(a.account, a.profile, out->profile_id);
	snprintf(out->role, sizeof(out->role), "%s", p->role);
	ret = current_creds(h, a.id, out);
	if (ret == -ENOENT || (ret == 0 && out->cred.expires_ms - now_ms() < refresh_ms(h)))
		ret = mint(h, &a, out);
	return ret;
}

/* Ids of the instances a query of one text column returns. */
static size_t collect(sqlite3_stmt *st, char (**ids)[ID_MAX])
{
	size_t n = 0;

	*ids = NULL;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		*ids = realloc(*ids, (n + 1) * sizeof(**ids));
		if (!*ids)
			abort();
		snprintf((*ids)[n++], ID_MAX, "%s", store_text(st, 0));
	}
	if (st)
		sqlite3_reset(st);
	return n;
}

void iam_tick(struct hostd *h)
{
	/* Only the reconciler thread gets here; at start every tree was just
	 * written with the current period. */
	static int64_t identity_period = -1;
	struct store *s = h->store;
	char(*ids)[ID_MAX];
	sqlite3_stmt *st;
	int64_t now = now_ms(), period = iam_identity_period(h, now, NULL, NULL);
	size_t n;

	if (identity_period >= 0 && period != identity_period)
		imdstree_refresh_running(h);
	identity_period = period;

	/* Associations of instances that are gone end with them. */
	st = store_stmt(s, "UPDATE iam_assocs SET state = 'disassociated', ended_ms = COALESCE(ended_ms, ?1) "
			   "WHERE state <> 'disassociated' AND NOT EXISTS (SELECT 1 FROM instances i WHERE "
			   "i.id = iam_assocs.instance_id AND i.state NOT IN ('terminated', 'shutting-down'))");
	if (st) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_step(st);
	}
	/* Transitions: the tree is rewritten (credentials in or out), then the
	 * state says so. */
	st = store_stmt(s, "SELECT DISTINCT instance_id FROM iam_assocs WHERE state IN ('associating', "
			   "'disassociating')");
	n = collect(st, &ids);
	for (size_t i = 0; i < n; i++) {
		if (imdstree_refresh(h, ids[i]) < 0)
			continue;
		st = store_stmt(s, "UPDATE iam_assocs SET state = CASE state WHEN 'associating' THEN 'associated' "
				   "ELSE 'disassociated' END WHERE instance_id = ?1 AND state IN ('associating', "
				   "'disassociating')");
		if (st) {
			sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
			sqlite3_step(st);
		}
	}
	free(ids);
	/* Rotation: instances whose tree may be served and whose newest
	 * credentials are due (building the tree mints the next set). */
	st = store_stmt(s, "SELECT a.instance_id FROM iam_assocs a JOIN instances i ON i.id = a.instance_id "
			   "WHERE a.state = 'associated' AND i.state IN ('pending', 'running', 'stopping') AND "
			   "COALESCE((SELECT MAX(expires_ms) FROM iam_creds c WHERE c.assoc_id = a.id), 0) < ?1");
	if (st)
		sqlite3_bind_int64(st, 1, now + refresh_ms(h));
	n = collect(st, &ids);
	for (size_t i = 0; i < n; i++) {
		struct assoc a = { 0 };

		if (live_assoc(h, ids[i], &a) == 0 && config_profile_find(h->cfg, a.account, a.profile))
			imdstree_refresh(h, ids[i]);
	}
	free(ids);
	/* Long expired credentials and long ended associations go. */
	accounts_purge_temporary(s, now - IAM_EXPIRED_KEEP_MS);
	store_exec(s, "DELETE FROM iam_creds WHERE access_key NOT IN (SELECT access_key FROM credentials)");
	st = store_stmt(s, "DELETE FROM iam_assocs WHERE state = 'disassociated' AND ended_ms < ?1 AND "
			   "NOT EXISTS (SELECT 1 FROM iam_creds c WHERE c.assoc_id = iam_assocs.id)");
	if (st) {
		sqlite3_bind_int64(st, 1, now - (int64_t)h->cfg->terminated_visible_s * 1000);
		sqlite3_step(st);
	}
}
