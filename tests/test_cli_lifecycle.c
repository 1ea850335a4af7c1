/* The hftc command's extend and learn (docs/ARCHITECTURE.md, "The command-line contract"), run as a user would on
 * the generated topics: a flat model trained by the command is extended and trained on, and what they refuse is
 * refused with the reason and exit status. The command is $HFTC_BIN, set by ctest. */
#include "hftc.h"
#include "command.h"
#include "test.h"
#include "tmpfiles.h"
#include "topics.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* hftc extend and learn on the flat model of the topics (sport, science at the top): a taxonomy that adds a category
 * is applied (its record's history says so; info lists the branch that predicts it), one that removes a category is
 * refused naming it, and so is a call without a taxonomy; learn trains on with a replay, and refuses a label the model
 * lacks. */
static void check_extend(const char *bin, const char *model)
{
    char cmd[4096], out[65536];
    const char *extended = tmpfiles_path("cli-extended.hftc");
    const char *more = tmpfiles_write_text("cli-more.tsv", "Root\tsport\tscience\tpolitics\n");
    const char *less = tmpfiles_write_text("cli-less.tsv", "Root\tsport\tpolitics\n");
    snprintf(cmd, sizeof cmd, "%s extend --model %s --taxonomy %s --train %s --output %s --threads 1 2>&1", bin, model,
             more, path_train, extended);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 0 && strstr(out, "saved ") && strstr(out, "\"politics\""),
              "extend printed: %s", out);
    snprintf(cmd, sizeof cmd, "%s info --model %s --json", bin, extended);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "\"history\"") && strstr(out, "\"kind\": \"extend\""), "info printed: %s", out);
    // with documents of politics, it gets an output: a branch of the flat network, which info lists
    size_t len = 0;
    char *train = tmpfiles_read(path_train, &len), *more_train = malloc(len + 4096);
    CHECK(train && more_train);
    if (train && more_train) {
        size_t n = 0;
        for (int i = 0; i < 40; i++)
            n += (size_t)snprintf(more_train + n, 4096 - n, "politics\tthe vote of the party %d\n", i % 3);
        memcpy(more_train + n, train, len);
        tmpfiles_write("cli-more-train.tsv", more_train, n + len);
        snprintf(cmd, sizeof cmd, "%s extend --model %s --taxonomy %s --train %s --output %s --threads 1 2>&1", bin,
                 model, more, tmpfiles_path("cli-more-train.tsv"), extended);
        CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "extend printed: %s", out);
        snprintf(cmd, sizeof cmd, "%s info --model %s", bin, extended);
        CHECK(run_command(cmd, out, sizeof out) == 0);
        const char *branch = strstr(out, "  flat branch 1 ");
        CHECK_MSG(branch && strstr(branch, " 1 labels ") && strstr(branch, " epochs (best "), "info printed: %s", out);
        // the report draws each network's epochs under its own name, the branch's from the extension's record
        const char *page = tmpfiles_path("cli-report.html");
        snprintf(cmd, sizeof cmd, "%s report --model %s --input %s --output %s --threads 1 2>&1", bin, extended,
                 path_test, page);
        CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "report printed: %s", out);
        size_t page_len = 0;
        char *html = tmpfiles_read(page, &page_len);
        CHECK_MSG(html && strstr(html, "<b>flat</b>: ") && strstr(html, "<b>flat branch 1</b>: "),
                  "the report's training curves lack a network");
        free(html);
    }
    free(train), free(more_train);
    snprintf(cmd, sizeof cmd, "%s extend --model %s --taxonomy %s --train %s --output %s --threads 1 2>&1", bin, model,
             less, path_train, tmpfiles_path("cli-never.hftc"));
    CHECK_MSG(run_command(cmd, out, sizeof out) == 1 && strstr(out, "category \"science\"") &&
                  strstr(out, "--allow-removal"),
              "extend printed: %s", out);
    snprintf(cmd, sizeof cmd, "%s extend --model %s --train %s --output %s 2>&1", bin, model, path_train, extended);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 2 && strstr(out, "--taxonomy NEW is required"), "extend printed: %s",
              out);
    CHECK(access(tmpfiles_path("cli-never.hftc"), F_OK) != 0);

    // hftc learn: the same model trained on, with a tenth of its training data replayed; a label it lacks is named
    snprintf(cmd, sizeof cmd,
             "%s learn --model %s --train %s --valid %s --epochs 1 --replay 0.1 --output %s --threads 1 2>&1", bin,
             model, path_valid, path_test, extended);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 0 && strstr(out, "saved ") && strstr(out, "replay: "),
              "learn printed: %s", out);
    snprintf(cmd, sizeof cmd, "%s info --model %s --json", bin, extended);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "\"kind\": \"learn\"") && strstr(out, "\"replay\""), "info printed: %s", out);
    snprintf(cmd, sizeof cmd, "%s info --model %s", bin, extended);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "history          ") && strstr(out, "Z learn, from ") && strstr(out, "replayed ("),
              "info printed: %s", out);
    const char *politics = tmpfiles_write_text("cli-politics.tsv", "politics\tthe vote\n");
    snprintf(cmd, sizeof cmd, "%s learn --model %s --train %s --output %s --threads 1 2>&1", bin, model, politics,
             tmpfiles_path("cli-never.hftc"));
    CHECK_MSG(run_command(cmd, out, sizeof out) == 1 && strstr(out, "label \"politics\" is not in the model"),
              "learn printed: %s", out);
    CHECK(access(tmpfiles_path("cli-never.hftc"), F_OK) != 0);
}

static void test_extend_and_learn(void)
{
    const char *bin = getenv("HFTC_BIN");
    if (!bin) {
        fprintf(stderr, "HFTC_BIN not set: run through ctest\n");
        CHECK(bin != NULL);
        return;
    }
    char cmd[4096], out[65536];
    const char *model = tmpfiles_path("cli-flat.hftc");
    snprintf(cmd, sizeof cmd,
             "%s train --train %s --valid %s --output %s --dim 8 --filters 4 --max-len 12 --epochs 2 --threads 1 "
             "--quiet 2>&1",
             bin, path_train, path_valid, model);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "train printed: %s", out);
    check_extend(bin, model);
}

int main(void)
{
    tmpfiles_init("cli-lifecycle");
    topics_write_splits();
    RUN_TEST(test_extend_and_learn);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
