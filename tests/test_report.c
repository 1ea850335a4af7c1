/* hftc report end to end: tiny models (a level model, a node model) trained on generated data whose taxonomy has a
 * label full of HTML's special characters, their pages written and checked as text (every element there, every
 * text from data escaped, nothing outside the file referenced, no temporary file left, errors named), then
 * rendered in headless Chromium (Debian's chromium, installed by scripts/setup.sh): the page's script ran to its
 * end without an error and the tree, tables and charts are in the rendered document. Without Chromium the test
 * fails, unless HFTC_SKIP_BROWSER=1 says to skip the rendering. The command is $HFTC_BIN, set by ctest. */
#include "command.h"
#include "test.h"
#include "tmpfiles.h"

#include <dirent.h>
#include <stdint.h>

/* The label that must come out escaped wherever the page shows it. */
#define ODD_LABEL "r&d<i>\"q\"'s</i>"
#define ODD_LABEL_ESCAPED "r&amp;d&lt;i&gt;&quot;q&quot;&#39;s&lt;/i&gt;"
/* The same text as a browser serialises its DOM (quotes in text left as they are): a text node, not markup. */
#define ODD_LABEL_RENDERED "r&amp;d&lt;i&gt;\"q\"'s&lt;/i&gt;"

static const char taxonomy[] = "Root\tsport\tscience\n"
                               "sport\tfootball\ttennis\n"
                               "science\tphysics\t" ODD_LABEL "\n";

static void write_docs(const char *path, size_t n, uint64_t seed)
{
    static const char *const labels[] = {"sport,football", "sport,tennis", "science,physics", "science," ODD_LABEL};
    static const char *const words[][3] = {{"goal", "pitch", "striker"},
                                           {"racket", "serve", "set"},
                                           {"atom", "quark", "energy"},
                                           {"lab", "patent", "trial"}};
    FILE *f = fopen(path, "w");
    uint64_t x = seed;
    for (size_t i = 0; f && i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned kind = (unsigned)(x >> 33) % 4;
        fprintf(f, "%s\t", labels[kind]);
        for (size_t t = 0; t < 8; t++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned r = (unsigned)(x >> 33);
            fprintf(f, "%s%s", t ? " " : "", r % 2 ? words[kind][r / 2 % 3] : "the");
        }
        fputc('\n', f);
    }
    if (f)
        fclose(f);
}

/* What the page says as text: its sections and charts, the odd label escaped and never raw, nothing fetched. */
static void check_page_text(const char *html, const char *const *ids, size_t n_ids)
{
    for (size_t i = 0; i < n_ids; i++) {
        char id[64];
        snprintf(id, sizeof id, "id=\"%s\"", ids[i]);
        CHECK_MSG(strstr(html, id), "no element %s", id);
    }
    CHECK_MSG(strstr(html, ODD_LABEL_ESCAPED), "the label " ODD_LABEL " is not escaped as " ODD_LABEL_ESCAPED);
    CHECK_MSG(!strstr(html, "<i>") && !strstr(html, "'s</i>"), "a label written raw");
    static const char *const external[] = {"http:",   "https:",  "src=",   "<link",    "@import", "url(",
                                           "<iframe", "<object", "<embed", "href=\"/", "file:"};
    for (size_t i = 0; i < sizeof external / sizeof *external; i++)
        CHECK_MSG(!strstr(html, external[i]), "the page refers outside itself: \"%s\"", external[i]);
    CHECK(!strncmp(html, "<!DOCTYPE html>", 15) && strstr(html, "</html>"));
}

/* Chromium's command, or NULL when there is none. */
static const char *find_chromium(void)
{
    static const char *const names[] = {"chromium", "chromium-browser", "google-chrome"};
    static char found[64];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char cmd[128], out[256];
        snprintf(cmd, sizeof cmd, "command -v %s", names[i]);
        if (run_command(cmd, out, sizeof out) == 0 && out[0]) {
            snprintf(found, sizeof found, "%s", names[i]);
            return found;
        }
    }
    return NULL;
}

/* The page rendered by headless Chromium: the script ran to its end (data-report-ready, set last), no script
 * error (data-report-error, set by window.onerror), and the elements there, the buttons the script adds too. */
static void check_rendered(const char *chromium, const char *page, const char *const *ids, size_t n_ids)
{
    char cmd[1024];
    static char dom[1 << 20];
    snprintf(cmd, sizeof cmd,
             "timeout 180 %s --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir='%s' --dump-dom "
             "'file://%s' 2>/dev/null",
             chromium, tmpfiles_path("chromium-profile"), page);
    int rc = run_command(cmd, dom, sizeof dom);
    char rm[256], ignored[64];
    snprintf(rm, sizeof rm, "rm -rf '%s'", tmpfiles_path("chromium-profile"));
    run_command(rm, ignored, sizeof ignored);
    CHECK_MSG(rc == 0 && strstr(dom, "</html>"), "%s: exit %d, %.300s", chromium, rc, dom);
    CHECK_MSG(strstr(dom, "data-report-ready=\"yes\""), "the page's script did not run to its end: %.300s", dom);
    const char *error = strstr(dom, "data-report-error=\"");
    CHECK_MSG(!error, "script error: %.200s", error);
    for (size_t i = 0; i < n_ids; i++) {
        char id[64];
        snprintf(id, sizeof id, "id=\"%s\"", ids[i]);
        CHECK_MSG(strstr(dom, id), "rendered without %s", id);
    }
    CHECK_MSG(strstr(dom, ">Expand all</button>"), "the tree's buttons were not added");
    CHECK_MSG(strstr(dom, ODD_LABEL_RENDERED) && !strstr(dom, "<i>"), "the label " ODD_LABEL " became markup");
}

/* No temporary file of the page's left in the directory. */
static bool no_temporary_left(void)
{
    DIR *d = opendir(tmpfiles_dir());
    struct dirent *e;
    bool clean = d != NULL;
    while (d && (e = readdir(d)))
        clean = clean && !strstr(e->d_name, ".hftc-tmp.");
    if (d)
        closedir(d);
    return clean;
}

static void test_report(void)
{
    const char *bin = getenv("HFTC_BIN");
    if (!bin) {
        CHECK_MSG(false, "HFTC_BIN not set: run through ctest");
        return;
    }
    const char *tax = tmpfiles_write("taxonomy.tsv", taxonomy, strlen(taxonomy));
    const char *train = tmpfiles_path("train.tsv"), *valid = tmpfiles_path("valid.tsv"),
               *test = tmpfiles_path("test.tsv"), *level = tmpfiles_path("level&.hftc"),
               *node = tmpfiles_path("node.hftc"), *page = tmpfiles_path("level.html"),
               *node_page = tmpfiles_path("node.html");
    write_docs(train, 240, 1), write_docs(valid, 60, 2), write_docs(test, 80, 3);
    char cmd[4096], out[1 << 16];
    const char *small = "--dim 8 --filters 4 --hidden 8 --epochs 3 --threads 1 --quiet";
    snprintf(cmd, sizeof cmd, "%s train --preset hft-cnn --train %s --valid %s --taxonomy %s --output '%s' %s 2>&1",
             bin, train, valid, tax, level, small);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s train --strategy node --train %s --valid %s --taxonomy %s --output %s %s 2>&1", bin,
             train, valid, tax, node, small);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "%s", out);

    snprintf(cmd, sizeof cmd, "%s report --model '%s' --input %s --valid %s --output %s --threads 1 2>&1", bin, level,
             test, valid, page);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 0 && !out[0], "%s", out);
    static const char *const ids[] = {"overall",          "levels",           "taxonomy-tree",
                                      "f1-support-chart", "confusions",       "training-curves",
                                      "training-chart-1", "training-chart-2", "threshold-curve"};
    char *html = tmpfiles_read(page, NULL);
    CHECK(html != NULL);
    if (html) {
        check_page_text(html, ids, sizeof ids / sizeof *ids);
        CHECK_MSG(strstr(html, "level&amp;.hftc") && !strstr(html, "level&.hftc"), "the model's file name raw");
    }
    CHECK_MSG(no_temporary_left(), "a temporary file left in %s", tmpfiles_dir());

    // A node model without --valid: the classifiers' summary, the curve said to be absent; and to stdout.
    snprintf(cmd, sizeof cmd, "%s report --model %s --input %s --output %s --threads 1 2>&1", bin, node, test,
             node_page);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "%s", out);
    static const char *const node_ids[] = {"overall", "taxonomy-tree", "training-levels", "training-chart-1",
                                           "threshold-absent"};
    char *node_html = tmpfiles_read(node_page, NULL);
    CHECK(node_html != NULL);
    if (node_html)
        check_page_text(node_html, node_ids, sizeof node_ids / sizeof *node_ids);
    snprintf(cmd, sizeof cmd, "%s report --model %s --input %s --output - --threads 1", bin, node, test);
    CHECK(run_command(cmd, out, sizeof out) == 0 && !strncmp(out, "<!DOCTYPE html>", 15));

    // Errors: no --input (usage, 2), an input that is not there (named, 1), an output where none can go (1), and
    // the page before it left alone.
    snprintf(cmd, sizeof cmd, "%s report --model %s 2>&1", bin, node);
    CHECK(run_command(cmd, out, sizeof out) == 2 && strstr(out, "--input"));
    snprintf(cmd, sizeof cmd, "%s report --model %s --input %s.missing --output %s 2>&1", bin, node, test, page);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 1 && strstr(out, "test.tsv.missing"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s report --model %s --input %s --output %s/none/r.html 2>&1", bin, node, test,
             tmpfiles_dir());
    CHECK_MSG(run_command(cmd, out, sizeof out) == 1 && strstr(out, "none/r.html"), "%s", out);
    char *again = tmpfiles_read(page, NULL);
    CHECK(again && html && !strcmp(again, html));
    free(again);

    const char *chromium = find_chromium();
    const char *skip = getenv("HFTC_SKIP_BROWSER");
    if (!chromium && skip && !strcmp(skip, "1")) {
        printf("skipped: the rendering in Chromium (HFTC_SKIP_BROWSER=1)\n");
    } else if (!chromium) {
        CHECK_MSG(false, "chromium not found: scripts/setup.sh installs it (Debian's chromium); HFTC_SKIP_BROWSER=1 "
                         "skips the rendering");
    } else {
        check_rendered(chromium, page, ids, sizeof ids / sizeof *ids);
        check_rendered(chromium, node_page, node_ids, sizeof node_ids / sizeof *node_ids);
    }
    free(html), free(node_html);
}

int main(void)
{
    tmpfiles_init("report");
    RUN_TEST(test_report);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
