/* Fault injection (core/fault.h; issue 25 item 14): the n-th allocation fails, for every n over a model's load,
 * the start of a training (through its first batches) and a save, and the n-th write of a save fails with ENOSPC
 * or EIO. Each must end in an error status with a message, no model handed out and, for saves, no file: the
 * output absent (or the earlier one intact) and no temporary file left. Under the sanitizers (CI) a leak on any
 * of these paths fails the run. One thread, so the n-th allocation is the same one each time. */
#include "core/fault.h"
#include "hftc.h"
#include "test.h"
#include "topics.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>

static const char *path_model;

// Training options of a small, fast model: one thread, one epoch.
static void small_options(hftc_train_options *o, const char *preset)
{
    hftc_train_options_init(o, preset);
    o->train_path = path_train, o->valid_path = path_valid;
    o->dim = 8, o->filters = 4, o->hidden = 8, o->max_len = 12, o->batch = 50, o->epochs = 1, o->threads = 1;
    o->buckets = 1000;
}

// Files in the tmpfiles directory whose name starts with prefix.
static size_t files_starting(const char *prefix)
{
    DIR *d = opendir(tmpfiles_dir());
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

// Loads the model with the n-th allocation failing, for every n until a load meets no fault.
static void test_load(void)
{
    size_t n = 1, failed = 0;
    for (;; n++) {
        hftc_model *m = NULL;
        fault_arm_allocation(n);
        hftc_status st = hftc_model_load(&m, path_model);
        size_t seen = fault_allocations_seen();
        fault_arm_allocation(0);
        if (seen < n) {
            CHECK_STATUS(st, HFTC_STATUS_OK);
            hftc_model_free(m);
            break;
        }
        failed++;
        CHECK_MSG(st != HFTC_STATUS_OK && m == NULL && strstr(hftc_last_error(), "model.hftc"),
                  "allocation %zu: status %d, model %p: %s", n, (int)st, (void *)m, hftc_last_error());
        hftc_model_free(m);
    }
    CHECK_MSG(failed > 20, "only %zu allocations in a load", failed);
    printf("load: %zu allocations, each failed once\n", failed);
}

// Trains with the n-th allocation failing, for every n up to max_n (the start of the training: its data, vocabulary,
// network, trainer and first batches). A training that recovers (an optional allocation) may succeed.
static void check_training(const char *preset, size_t max_n)
{
    hftc_train_options o;
    small_options(&o, preset);
    size_t n = 1, errors = 0;
    for (; n <= max_n; n++) {
        hftc_model *m = NULL;
        fault_arm_allocation(n);
        hftc_status st = hftc_train(&o, &m);
        size_t seen = fault_allocations_seen();
        fault_arm_allocation(0);
        if (st != HFTC_STATUS_OK) {
            errors++;
            CHECK_MSG(m == NULL && hftc_last_error()[0], "%s, allocation %zu: a model or no message", preset, n);
        }
        hftc_model_free(m);
        if (seen < n)
            break;
    }
    CHECK_MSG(errors > 20, "%s: only %zu failed trainings", preset, errors);
    printf("%s training: %zu allocations failed one at a time, %zu trainings ended in an error\n", preset, n - 1,
           errors);
}

static void test_training(void)
{
    check_training("flat-cnn", 400);
    check_training("ngram", 300);
    check_training("linear", 300);
}

// Saves with the n-th allocation failing, then the n-th write failing with ENOSPC and EIO: an error naming the file
// and the cause, the earlier file intact, no temporary file left.
static void test_save(void)
{
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_model_load(&m, path_model), HFTC_STATUS_OK);
    if (!m)
        return;
    const char *out = tmpfiles_path("saved.hftc");
    CHECK_STATUS(hftc_model_save(m, out), HFTC_STATUS_OK);
    FILE *f = fopen(out, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    size_t allocations = 0;
    for (size_t n = 1;; n++) {
        fault_arm_allocation(n);
        hftc_status st = hftc_model_save(m, out);
        size_t seen = fault_allocations_seen();
        fault_arm_allocation(0);
        if (seen < n) {
            CHECK_STATUS(st, HFTC_STATUS_OK);
            break;
        }
        allocations++;
        CHECK_MSG(st != HFTC_STATUS_OK && strstr(hftc_last_error(), "saved.hftc"), "allocation %zu: %s", n,
                  hftc_last_error());
    }
    const int errors[] = {ENOSPC, EIO};
    size_t writes = 0;
    for (size_t e = 0; e < 2; e++)
        for (size_t n = 1;; n++) {
            fault_arm_write(n, errors[e]);
            hftc_status st = hftc_model_save(m, out);
            size_t seen = fault_writes_seen();
            fault_arm_write(0, 0);
            if (seen < n) {
                CHECK_STATUS(st, HFTC_STATUS_OK);
                break;
            }
            writes++;
            CHECK_MSG(st == HFTC_STATUS_IO && strstr(hftc_last_error(), "saved.hftc") &&
                          strstr(hftc_last_error(), strerror(errors[e])),
                      "write %zu: %s", n, hftc_last_error());
        }
    f = fopen(out, "rb");
    fseek(f, 0, SEEK_END);
    CHECK_MSG(ftell(f) == size, "the earlier file changed size: %ld, was %ld", ftell(f), size);
    fclose(f);
    CHECK_MSG(files_starting(".saved.hftc") == 0, "%zu temporary files left", files_starting(".saved.hftc"));
    CHECK(allocations > 3 && writes > 4);
    printf("save: %zu allocations and %zu writes failed one at a time\n", allocations, writes);
    hftc_model_free(m);
}

static void silent(hftc_log_level level, const char *message, void *user) { (void)level, (void)message, (void)user; }

int main(void)
{
    tmpfiles_init("faults");
    topics_write_splits();
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    path_model = tmpfiles_path("model.hftc");
    hftc_train_options o;
    small_options(&o, "flat-cnn");
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    CHECK_STATUS(m ? hftc_model_save(m, path_model) : HFTC_STATUS_IO, HFTC_STATUS_OK);
    hftc_model_free(m);
    hftc_set_log(silent, HFTC_LOG_ERROR, NULL); /* the injected failures' messages are expected */
    RUN_TEST(test_load);
    RUN_TEST(test_save);
    RUN_TEST(test_training);
    TEST_MAIN_END();
}
