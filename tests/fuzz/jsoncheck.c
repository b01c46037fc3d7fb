/*
 * A strict JSON and UTF-8 checker for the fuzz targets, written apart
 * from json.c so that the two do not share a mistake: UTF-8 by the
 * ranges of Unicode's table 3-7, JSON by RFC 8259, with no lone
 * surrogates and no raw control characters.
 */
#include <stddef.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

size_t
u8_seq(const unsigned char *s, size_t n, int *part)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	*part = 0;
	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* The second byte's range depends on the first. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (i = 1; i < len; i++) {
		if (i == n) {
			*part = 1;
			return 0;
		}
		if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf))
			return 0;
	}
	return len;
}

struct jp {
	const unsigned char *s;
	size_t n, i;
	int depth;
};

static void
ws(struct jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
	    p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static int
hex4(struct jp *p, unsigned long *v)
{
	int k, c;

	*v = 0;
	if (p->n - p->i < 4)
		return 0;
	for (k = 0; k < 4; k++) {
		c = p->s[p->i++];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else if (c >= 'A' && c <= 'F')
			c -= 'A' - 10;
		else
			return 0;
		*v = *v << 4 | (unsigned long)c;
	}
	return 1;
}

static size_t
put_u8(char *out, unsigned long c)
{
	unsigned char *o = (unsigned char *)out;

	if (c < 0x80) {
		o[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (unsigned char)(0xc0 | c >> 6);
		o[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (unsigned char)(0xe0 | c >> 12);
		o[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | c >> 18);
	o[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

/* A string at p->i; its text to out (if not NULL) and *olen. */
static int
string(struct jp *p, char *out, size_t *olen)
{
	unsigned long c, lo;
	size_t len, o = 0;
	int part;

	if (p->i >= p->n || p->s[p->i] != '"')
		return 0;
	for (p->i++; p->i < p->n; ) {
		c = p->s[p->i];
		if (c == '"') {
			p->i++;
			if (olen)
				*olen = o;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c >= 0x80) {
			if ((len = u8_seq(p->s + p->i, p->n - p->i, &part)) == 0)
				return 0;
			if (out)
				memcpy(out + o, p->s + p->i, len);
			o += len;
			p->i += len;
			continue;
		}
		p->i++;
		if (c != '\\') {
			if (out)
				out[o] = (char)c;
			o++;
			continue;
		}
		if (p->i >= p->n)
			return 0;
		switch (p->s[p->i++]) {
		case '"': c = '"'; break;
		case '\\': c = '\\'; break;
		case '/': c = '/'; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if (!hex4(p, &c))
				return 0;
			if (c >= 0xdc00 && c <= 0xdfff)
				return 0;	/* a lone low surrogate */
			if (c >= 0xd800 && c <= 0xdbff) {
				if (p->n - p->i < 6 || p->s[p->i] != '\\' ||
				    p->s[p->i + 1] != 'u')
					return 0;
				p->i += 2;
				if (!hex4(p, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return 0;
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			break;
		default:
			return 0;
		}
		if (out)
			o += put_u8(out + o, c);
		else
			o += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
	}
	return 0;
}

static int
digits(struct jp *p)
{
	size_t i0 = p->i;

	while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
		p->i++;
	return p->i > i0;
}

static int
number(struct jp *p)
{
	if (p->i < p->n && p->s[p->i] == '-')
		p->i++;
	if (p->i < p->n && p->s[p->i] == '0')
		p->i++;
	else if (!digits(p))
		return 0;
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (!digits(p))
			return 0;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (!digits(p))
			return 0;
	}
	return 1;
}

static int
word(struct jp *p, const char *w)
{
	size_t n = strlen(w);

	if (p->n - p->i < n || memcmp(p->s + p->i, w, n) != 0)
		return 0;
	p->i += n;
	return 1;
}

static int value(struct jp *p);

/* An object or an array: members until the closing bracket. */
static int
compound(struct jp *p, int obj)
{
	int close = obj ? '}' : ']';

	if (++p->depth > 64)
		return 0;
	p->i++;
	ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		p->depth--;
		return 1;
	}
	for (;;) {
		if (obj) {
			if (!string(p, NULL, NULL))
				return 0;
			ws(p);
			if (p->i >= p->n || p->s[p->i++] != ':')
				return 0;
		}
		if (!value(p))
			return 0;
		if (p->i >= p->n)
			return 0;
		if (p->s[p->i] == close) {
			p->i++;
			p->depth--;
			return 1;
		}
		if (p->s[p->i++] != ',')
			return 0;
		ws(p);
	}
}

/* A value, with the white space after it. */
static int
value(struct jp *p)
{
	int ok;

	ws(p);
	if (p->i >= p->n)
		return 0;
	switch (p->s[p->i]) {
	case '{': ok = compound(p, 1); break;
	case '[': ok = compound(p, 0); break;
	case '"': ok = string(p, NULL, NULL); break;
	case 't': ok = word(p, "true"); break;
	case 'f': ok = word(p, "false"); break;
	case 'n': ok = word(p, "null"); break;
	default: ok = number(p); break;
	}
	ws(p);
	return ok;
}

int
json_valid(const char *s, size_t n)
{
	struct jp p = { (const unsigned char *)s, n, 0, 0 };

	return value(&p) && p.i == n;
}

size_t
json_string(const char *s, size_t n, char *out, size_t *outlen)
{
	struct jp p = { (const unsigned char *)s, n, 0, 0 };

	return string(&p, out, outlen) ? p.i : 0;
}
