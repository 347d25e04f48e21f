/* formula_lex.c: tokens of an lme4 formula, parenthesis matching, and
 * error messages that point at a column of the formula text. */
#include "formula_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WINDOW_MAX = 100, WINDOW_SHOWN = 80, MSG_MAX = 2000 };

/* ---- Positions and messages -------------------------------------------- */

static bool is_continuation(unsigned char c)
{
  return c >= 0x80 && c < 0xC0;
}

void hlm_formula_seek(const char *text, hlm_fpos *at, size_t offset)
{
  if (offset < at->offset || at->line < 1) {
    *at = (hlm_fpos){.offset = 0, .line = 1, .column = 1};
  }
  size_t i = at->offset;
  for (; i < offset && text[i] != '\0'; i++) {
    if (text[i] == '\n') {
      at->line++;
      at->column = 1;
    } else if (!is_continuation((unsigned char)text[i])) {
      at->column++;
    }
  }
  at->offset = i;
}

void hlm_formula_position(const char *text, size_t offset, int *line,
                          int *column)
{
  hlm_fpos at = {0};
  hlm_formula_seek(text, &at, offset);
  *line = at.line;
  *column = at.column;
}

/* Byte offset of the code point `count` characters after `from`. */
static size_t skip_chars(const char *text, size_t from, size_t end, int count)
{
  size_t i = from;
  while (i < end && count > 0) {
    i++;
    while (i < end && is_continuation((unsigned char)text[i])) {
      i++;
    }
    count--;
  }
  return i;
}

static int count_chars(const char *text, size_t from, size_t end)
{
  int n = 0;
  for (size_t i = from; i < end; i++) {
    n += !is_continuation((unsigned char)text[i]);
  }
  return n;
}

typedef struct msgbuf {
  char s[MSG_MAX];
  size_t n;
} msgbuf;

static void put_char(msgbuf *m, char c)
{
  if (m->n + 1 < sizeof m->s) {
    m->s[m->n++] = c;
    m->s[m->n] = '\0';
  }
}

static void put_str(msgbuf *m, const char *s)
{
  for (; *s; s++) {
    put_char(m, *s);
  }
}

/* The source line, control characters shown as '?', then a caret line
 * that copies tabs so the caret lines up. */
static void put_excerpt(msgbuf *m, const char *text, size_t offset)
{
  size_t len = strlen(text);
  size_t begin = offset > len ? len : offset;
  while (begin > 0 && text[begin - 1] != '\n') {
    begin--;
  }
  size_t end = begin;
  while (end < len && text[end] != '\n') {
    end++;
  }
  if (end > begin && text[end - 1] == '\r') {
    end--;
  }
  int col = count_chars(text, begin, offset > len ? len : offset);
  int nchars = count_chars(text, begin, end);
  int first = 0;
  if (nchars > WINDOW_MAX) {
    first = col - WINDOW_SHOWN / 2;
    first = first > nchars - WINDOW_SHOWN ? nchars - WINDOW_SHOWN : first;
    first = first < 0 ? 0 : first;
  }
  size_t from = skip_chars(text, begin, end, first);
  size_t to =
      nchars > WINDOW_MAX ? skip_chars(text, from, end, WINDOW_SHOWN) : end;
  put_str(m, "\n  ");
  put_str(m, first > 0 ? "..." : "");
  for (size_t i = from; i < to; i++) {
    unsigned char c = (unsigned char)text[i];
    put_char(m, (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c);
  }
  put_str(m, to < end ? "..." : "");
  put_str(m, "\n  ");
  put_str(m, first > 0 ? "   " : "");
  size_t caret = offset > len ? len : offset;
  for (size_t i = from; i < caret; i++) {
    if (!is_continuation((unsigned char)text[i])) {
      put_char(m, text[i] == '\t' ? '\t' : ' ');
    }
  }
  put_char(m, '^');
}

hlm_status hlm_formula_vreport(const char *text, size_t offset, hlm_status code,
                               const char *fmt, va_list ap)
{
  msgbuf m = {.n = 0};
  char what[512];
  int line, col;
  hlm_formula_position(text, offset, &line, &col);
  vsnprintf(what, sizeof what, fmt, ap);
  snprintf(m.s, sizeof m.s, "formula:%d:%d: %s", line, col, what);
  m.n = strlen(m.s);
  put_excerpt(&m, text, offset);
  return HLM_ERROR(code, "%s", m.s);
}

hlm_status hlm_formula_report(const char *text, size_t offset, hlm_status code,
                              const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  hlm_status status = hlm_formula_vreport(text, offset, code, fmt, ap);
  va_end(ap);
  return status;
}

/* ---- Tokens -------------------------------------------------------------- */

static bool is_alpha(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
  return c >= '0' && c <= '9';
}

/* R identifiers; bytes >= 0x80 (UTF-8 letters) are accepted as letters. */
static bool is_name_char(unsigned char c)
{
  return is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c >= 0x80;
}

static bool is_space(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

bool hlm_formula_is_plain_name(const char *s, size_t n)
{
  if (n == 0) {
    return false;
  }
  unsigned char c0 = (unsigned char)s[0];
  if (!is_alpha(c0) && c0 != '.' && c0 < 0x80) {
    return false;
  }
  if (c0 == '.' && (n == 1 || is_digit((unsigned char)s[1]))) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    if (!is_name_char((unsigned char)s[i])) {
      return false;
    }
  }
  return true;
}

bool hlm_formula_is_derived_name(const char *s)
{
  static const char *const fn[] = {"cmean(", "cwc(", "gmc("};
  size_t n = strlen(s);
  for (size_t k = 0; k < sizeof fn / sizeof *fn; k++) {
    size_t m = strlen(fn[k]);
    if (n > m && strncmp(s, fn[k], m) == 0 && s[n - 1] == ')') {
      return true;
    }
  }
  return false;
}

typedef struct lexer {
  const char *text;
  size_t i;
  hlm_flex *out;
  int cap;
} lexer;

static hlm_status push(lexer *lx, hlm_ftok tok)
{
  hlm_status status = HLM_OK;
  if (lx->out->ntok == lx->cap) {
    int cap = lx->cap ? 2 * lx->cap : 32;
    hlm_ftok *t = realloc(lx->out->tok, (size_t)cap * sizeof *t);
    HLM_CHECK(t != NULL, HLM_ERR_NOMEM, "out of memory reading a formula");
    lx->out->tok = t;
    lx->cap = cap;
  }
  tok.match = -1;
  tok.bar = -1;
  lx->out->tok[lx->out->ntok++] = tok;
cleanup:
  return status;
}

/* Record a lexical error as the final token. */
static hlm_status lex_error(lexer *lx, size_t pos, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static hlm_status lex_error(lexer *lx, size_t pos, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(lx->out->errmsg, sizeof lx->out->errmsg, fmt, ap);
  va_end(ap);
  return push(lx, (hlm_ftok){.kind = HLM_FTOK_ERROR, .pos = pos});
}

static hlm_ftok scan_number(lexer *lx)
{
  const char *s = lx->text;
  size_t b = lx->i, i = b;
  while (is_digit((unsigned char)s[i])) {
    i++;
  }
  if (s[i] == '.') {
    i++;
    while (is_digit((unsigned char)s[i])) {
      i++;
    }
  }
  size_t e = i;
  if (s[e] == 'e' || s[e] == 'E') {
    e++;
    e += s[e] == '+' || s[e] == '-';
    if (is_digit((unsigned char)s[e])) {
      while (is_digit((unsigned char)s[e])) {
        e++;
      }
      i = e;
    }
  }
  char buf[64];
  size_t n = i - b < sizeof buf - 1 ? i - b : sizeof buf - 1;
  memcpy(buf, s + b, n);
  buf[n] = '\0';
  double value = i - b < sizeof buf - 1 ? strtod(buf, NULL) : 2.0;
  i += s[i] == 'L'; /* R's integer suffix */
  lx->i = i;
  return (hlm_ftok){
      .kind = HLM_FTOK_NUMBER, .pos = b, .len = i - b, .value = value};
}

static hlm_status scan_quoted(lexer *lx)
{
  size_t b = lx->i;
  const char *close = strchr(lx->text + b + 1, '`');
  if (close == NULL) {
    return lex_error(lx, b, "unterminated backquoted name: no closing `");
  }
  size_t end = (size_t)(close - lx->text);
  if (end == b + 1) {
    return lex_error(lx, b, "empty backquoted name ``");
  }
  lx->i = end + 1;
  return push(lx, (hlm_ftok){.kind = HLM_FTOK_NAME,
                             .pos = b,
                             .len = end + 1 - b,
                             .name = lx->text + b + 1,
                             .nlen = end - b - 1,
                             .quoted = true});
}

static hlm_status scan_percent(lexer *lx)
{
  size_t b = lx->i, e = b + 1;
  while (lx->text[e] != '\0' && lx->text[e] != '%' && lx->text[e] != '\n') {
    e++;
  }
  if (lx->text[e] != '%') {
    return lex_error(lx, b, "unterminated `%%` operator");
  }
  if (e - b == 3 && strncmp(lx->text + b, "%in%", 4) == 0) {
    lx->i = e + 1;
    return push(lx, (hlm_ftok){.kind = HLM_FTOK_IN, .pos = b, .len = 4});
  }
  int n = e + 1 - b > 40 ? 40 : (int)(e + 1 - b);
  return lex_error(lx, b, "unknown operator `%.*s` (only %%in%% is supported)",
                   n, lx->text + b);
}

/* Operators R has but formulas do not use (longest first). */
static const char *const unknown_ops[] = {
    "<<-", "->>", "::", "&&", "==", "!=", "<=", ">=", "<-", "->",
    "|>",  "&",   "=",  "!",  "<",  ">",  "$",  "@",  "?",  "\\"};

static size_t match_unknown_op(const char *s)
{
  for (size_t k = 0; k < sizeof unknown_ops / sizeof *unknown_ops; k++) {
    size_t n = strlen(unknown_ops[k]);
    if (strncmp(s, unknown_ops[k], n) == 0) {
      return n;
    }
  }
  return 0;
}

static hlm_ftok_kind simple_kind(const char *s, size_t *len)
{
  *len = 1;
  switch (s[0]) {
  case '+':
    return HLM_FTOK_PLUS;
  case '-':
    return HLM_FTOK_MINUS;
  case '*':
    *len = s[1] == '*' ? 2 : 1; /* R reads ** as ^ */
    return *len == 2 ? HLM_FTOK_CARET : HLM_FTOK_STAR;
  case '/':
    return HLM_FTOK_SLASH;
  case ':':
    return HLM_FTOK_COLON;
  case '^':
    return HLM_FTOK_CARET;
  case '(':
    return HLM_FTOK_LPAREN;
  case ')':
    return HLM_FTOK_RPAREN;
  case '~':
    return HLM_FTOK_TILDE;
  case ',':
    return HLM_FTOK_COMMA;
  case '|':
    *len = s[1] == '|' ? 2 : 1;
    return *len == 2 ? HLM_FTOK_DBAR : HLM_FTOK_BAR;
  default:
    *len = 0;
    return HLM_FTOK_END;
  }
}

static hlm_status scan_other(lexer *lx)
{
  const char *s = lx->text + lx->i;
  unsigned char c = (unsigned char)s[0];
  size_t n = match_unknown_op(s);
  if (n > 0) {
    return lex_error(lx, lx->i, "unknown operator `%.*s`", (int)n, s);
  }
  hlm_ftok_kind kind = simple_kind(s, &n);
  if (n > 0) {
    hlm_ftok tok = {.kind = kind, .pos = lx->i, .len = n};
    lx->i += n;
    return push(lx, tok);
  }
  if (c == '"' || c == '\'') {
    return lex_error(lx, lx->i,
                     "strings are not allowed in a formula; write a name "
                     "that is not a plain R name in backquotes, like `my var`");
  }
  if (c < 0x20 || c == 0x7f) {
    return lex_error(lx, lx->i, "unexpected character (byte 0x%02X)", c);
  }
  return lex_error(lx, lx->i, "unexpected character `%c`", c);
}

static hlm_status scan_one(lexer *lx)
{
  const char *s = lx->text + lx->i;
  unsigned char c = (unsigned char)s[0];
  unsigned char c1 = c ? (unsigned char)s[1] : 0;
  if (is_digit(c) || (c == '.' && is_digit(c1))) {
    return push(lx, scan_number(lx));
  }
  if (is_alpha(c) || c == '.' || c >= 0x80) {
    size_t b = lx->i;
    while (is_name_char((unsigned char)lx->text[lx->i])) {
      lx->i++;
    }
    return push(lx, (hlm_ftok){.kind = HLM_FTOK_NAME,
                               .pos = b,
                               .len = lx->i - b,
                               .name = lx->text + b,
                               .nlen = lx->i - b});
  }
  if (c == '`') {
    return scan_quoted(lx);
  }
  if (c == '%') {
    return scan_percent(lx);
  }
  return scan_other(lx);
}

/* Fill LPAREN.match and LPAREN.bar with a stack of open parentheses. */
static hlm_status match_parens(hlm_flex *lex)
{
  hlm_status status = HLM_OK;
  int *stack = NULL, depth = 0;
  HLM_ALLOC(stack, lex->ntok);
  for (int i = 0; i < lex->ntok; i++) {
    hlm_ftok *t = &lex->tok[i];
    if (t->kind == HLM_FTOK_LPAREN) {
      stack[depth++] = i;
    } else if (t->kind == HLM_FTOK_RPAREN && depth > 0) {
      lex->tok[stack[--depth]].match = i;
    } else if ((t->kind == HLM_FTOK_BAR || t->kind == HLM_FTOK_DBAR) &&
               depth > 0 && lex->tok[stack[depth - 1]].bar < 0) {
      lex->tok[stack[depth - 1]].bar = i;
    }
  }
cleanup:
  free(stack);
  return status;
}

hlm_status hlm_flex_run(const char *text, hlm_flex *lex)
{
  hlm_status status = HLM_OK;
  lexer lx = {.text = text, .i = 0, .out = lex, .cap = 0};
  memset(lex, 0, sizeof *lex);
  for (;;) {
    while (is_space((unsigned char)text[lx.i])) {
      lx.i++;
    }
    if (text[lx.i] == '\0') {
      HLM_TRY(push(&lx, (hlm_ftok){.kind = HLM_FTOK_END, .pos = lx.i}));
      break;
    }
    HLM_TRY(scan_one(&lx));
    if (lex->tok[lex->ntok - 1].kind == HLM_FTOK_ERROR) {
      break;
    }
  }
  HLM_TRY(match_parens(lex));
cleanup:
  if (status != HLM_OK) {
    hlm_flex_free(lex);
  }
  return status;
}

void hlm_flex_free(hlm_flex *lex)
{
  free(lex->tok);
  lex->tok = NULL;
  lex->ntok = 0;
}

void hlm_ftok_describe(const char *text, const hlm_ftok *t, char *buf,
                       size_t len)
{
  if (t->kind == HLM_FTOK_END || t->kind == HLM_FTOK_ERROR) {
    snprintf(buf, len, "the end of the formula");
    return;
  }
  const char *s = t->kind == HLM_FTOK_NAME ? t->name : text + t->pos;
  size_t n = t->kind == HLM_FTOK_NAME ? t->nlen : t->len;
  char shown[48];
  size_t k = 0;
  for (size_t i = 0; i < n && k < 40; i++) {
    unsigned char c = (unsigned char)s[i];
    shown[k++] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
  }
  shown[k] = '\0';
  snprintf(buf, len, "`%s%s`", shown, n > 40 ? "..." : "");
}
