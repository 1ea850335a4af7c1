/* hftc train: options (preset defaults, then overrides), output path checked up front, progress. */
#include "args.h"
#include "commands.h"

#include "hftc.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    bool tty;
    size_t last_width;
    double last_draw; /* seconds into the epoch of the last redraw: at most 10 a second */
} progress_state;

static void format_duration(char *buf, size_t size, double s)
{
    unsigned long t = s > 0 ? (unsigned long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(buf, size, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%lu:%02lu", t / 60, t % 60);
}

/* On a terminal: a bar redrawn in place with docs/s and ETA; otherwise one line per epoch. */
static void show_progress(const hftc_progress *p, void *user)
{
    progress_state *ps = user;
    bool level = p->part && strcmp(p->part, "flat"); /* name the level being trained */
    double rate = p->seconds > 0 ? (double)p->docs_done / p->seconds : 0.0;
    if (p->epoch_end) {
        if (ps->tty)
            fprintf(stderr, "\r%*s\r", (int)ps->last_width, "");
        bool accuracy = p->valid_accuracy >= 0.0f; /* the criterion: accuracy for single-label heads */
        fprintf(stderr, "%s%sepoch %zu/%zu  train_loss %.5f  valid_loss %.5f  %s %.4f  %.1f s  %.0f docs/s%s\n",
                level ? p->part : "", level ? " " : "", p->epoch, p->epochs, (double)p->train_loss,
                (double)p->valid_loss, accuracy ? "valid_accuracy" : "valid_micro_f1",
                (double)(accuracy ? p->valid_accuracy : p->valid_micro_f1), p->seconds, rate, p->improved ? "  *" : "");
        return;
    }
    if (!ps->tty || (p->seconds - ps->last_draw < 0.1 && p->seconds >= ps->last_draw))
        return;
    ps->last_draw = p->seconds;
    enum { BAR = 30 };
    size_t filled = p->docs_total ? p->docs_done * BAR / p->docs_total : 0;
    char bar[BAR + 1], eta[32];
    for (size_t i = 0; i < BAR; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR] = '\0';
    format_duration(eta, sizeof eta, rate > 0 ? (double)(p->docs_total - p->docs_done) / rate : 0.0);
    int n = fprintf(stderr, "\r%s%sepoch %zu/%zu [%s] %3zu%%  %.0f docs/s  ETA %s  loss %.5f", level ? p->part : "",
                    level ? " " : "", p->epoch, p->epochs, bar, p->docs_total ? 100 * p->docs_done / p->docs_total : 0,
                    rate, eta, (double)p->train_loss);
    ps->last_width = n > 0 ? (size_t)n : 0;
}

int cmd_train(int argc, char **argv)
{
    hftc_train_options o;
    const char *preset = args_find(argc, argv, "--preset");
    if (hftc_train_options_init(&o, preset) != HFTC_STATUS_OK)
        return cli_fail("train");
    const char *output = NULL, *preset_arg = o.preset;
    int verbose = 1, quiet = 0;
    char preset_help[512];
    size_t used = (size_t)snprintf(preset_help, sizeof preset_help, "defaults to start from:");
    for (size_t i = 0; hftc_preset_name(i) && used < sizeof preset_help; i++)
        used +=
            (size_t)snprintf(preset_help + used, sizeof preset_help - used, "%s %s", i ? "," : "", hftc_preset_name(i));
    /* The command's own options, then every training option of the library's table but the preset, which
     * was applied first, whatever its place among the arguments. */
    enum { OWN = 3 };
    arg_spec specs[OWN + 128] = {
        {"--output", ARG_STRING, &output, "model file to write"},
        {"--preset", ARG_STRING, &preset_arg, preset_help},
        {"--quiet", ARG_FLAG, &quiet, "no progress or information messages"},
    };
    size_t n_specs = OWN;
    for (size_t i = 0; i < hftc_train_option_count() && n_specs < sizeof specs / sizeof *specs; i++)
        if (strcmp(hftc_train_option_name(i), "preset"))
            specs[n_specs++] = (arg_spec)ARG_TRAIN_OPTION(hftc_train_option_name(i), &o, NULL);
    int rc = args_parse("train", "--train F [--valid F] --output MODEL [--preset NAME] [options]", specs, n_specs, argc,
                        argv);
    if (rc)
        return rc == 2 ? 0 : 2;
    if (!output || !*output) {
        fprintf(stderr, "hftc train: --output MODEL is required%s\n", output ? " (an empty name was given)" : "");
        return 2;
    }
    const char *problem = hftc_train_options_check(&o);
    if (problem) {
        fprintf(stderr, "hftc train: %s\n", problem);
        return 2;
    }
    /* the model and the checkpoint can be written, over none of the inputs: before hours of training */
    hftc_status st = hftc_train_outputs_check(&o, output);
    if (st != HFTC_STATUS_OK) {
        fprintf(stderr, "hftc train: %s\n", hftc_last_error());
        return st == HFTC_STATUS_INVALID_ARGUMENT ? 2 : 1;
    }
    /* Under mpirun every process trains (the node strategy spreads its runs over them, flat and level networks
     * their batches); rank 0 alone prints progress, saves the model and removes the checkpoint. */
    if (hftc_distributed_init() != HFTC_STATUS_OK)
        return cli_fail("train");
    bool first = hftc_distributed_rank() == 0;
    verbose = !quiet && first;
    cli_setup_log(verbose);
    progress_state ps = {.tty = isatty(STDERR_FILENO)};
    if (verbose) {
        o.progress = show_progress;
        o.progress_user = &ps;
    }
    hftc_model *m = NULL;
    st = hftc_train(&o, &m);
    int exit_status = 0;
    if (st == HFTC_STATUS_INCOMPLETE) {
        if (first)
            fprintf(stderr, "hftc train: %s\n", hftc_last_error());
        exit_status = 3;
    } else if (st != HFTC_STATUS_OK || (first && hftc_model_save(m, output) != HFTC_STATUS_OK))
        exit_status = cli_fail("train");
    if (exit_status == 0 && verbose)
        fprintf(stderr, "saved %s (%zu labels)\n", output, hftc_model_num_labels(m));
    if (exit_status == 0 && first && o.checkpoint_path && unlink(o.checkpoint_path) != 0 && errno != ENOENT)
        fprintf(stderr, "hftc train: warning: cannot remove the checkpoint %s: %s\n", o.checkpoint_path,
                strerror(errno));
    hftc_model_free(m);
    // An error may be this process's alone, the others waiting for it: it ends them all. The time limit stops
    // every process alike.
    hftc_distributed_end(exit_status == 1, exit_status);
    return exit_status;
}
