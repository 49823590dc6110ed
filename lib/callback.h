/*
 * callback.h - what the library's files share about the application's own
 * functions: callback targets (answered by a function instead of a model),
 * callback checks, the pool of worker threads that runs callback targets,
 * and the suite-building calls' bookkeeping. Private to lib/.
 */
#ifndef ASSAY_CALLBACK_H
#define ASSAY_CALLBACK_H

#include "internal.h"

/* ------------------------------------------------------------ workers.c */

/*
 * A fixed pool of threads taking tasks from a queue. A finished task goes
 * to a second queue that the owner's thread empties (assay__workers_take),
 * after the pool called `wake` (from the worker thread) to say one is
 * there. Nothing but the task's own `run` happens on a worker.
 */
typedef struct assay__task assay__task;
struct assay__task {
    void (*run)(assay__task *task); /* on a worker thread */
    assay__task *next;              /* the pool's: queue links */
};

typedef struct assay__workers assay__workers;

/* `wake` (may be NULL) must be safe to call from any thread. */
assay_status assay__workers_new(int threads, void (*wake)(void *data),
                                void *wake_data, assay__workers **out);
/* Queues a task; it runs as soon as a thread is free. */
void assay__workers_submit(assay__workers *w, assay__task *task);
/* The finished tasks, in the order they finished (a list through `next`),
   or NULL; they are the caller's again. */
assay__task *assay__workers_take(assay__workers *w);
/* Tasks submitted and not taken back yet: queued, running or finished. */
size_t assay__workers_pending(const assay__workers *w);
/*
 * Drops the queued tasks that have not started (returned as a list; they
 * never ran) and waits for the running ones, which then wait in the
 * finished queue.
 */
assay__task *assay__workers_drain(assay__workers *w);
/* Stops the threads, after waiting for the running tasks. Accepts NULL. */
void assay__workers_free(assay__workers *w);

/* ------------------------------------------------------------ callback.c */

/* The case as public accessors see it; strings they hand out are kept
   until the case view is released. */
struct assay_case {
    const char *id;
    const cJSON *vars;
    char *vars_json;   /* made on first use */
    char **texts;      /* what assay_case_var printed */
    size_t n_texts;
};

void assay__case_view_init(struct assay_case *view, const assay__case *c);
void assay__case_view_release(struct assay_case *view);

/* One call of a callback target: the request it is given, the answer it
   gives, and the job it answers for. */
typedef struct assay__call assay__call;

/*
 * The call for a job whose OpenAI request body is `body` (the messages
 * and params are read back from it). `c` is borrowed: the job holds it
 * until the call is taken back.
 */
assay_status assay__call_new(const assay__target *target, const char *prompt,
                             int repeat, const assay__case *c,
                             const char *body, size_t body_len, void *job,
                             assay__call **out, assay_error *err);
void assay__call_free(assay__call *call);
assay__task *assay__call_task(assay__call *call);
assay__call *assay__call_of(assay__task *task);
void *assay__call_job(const assay__call *call);
/*
 * How the call went: ASSAY_OK with the answer in *resp (the call's, valid
 * until it is freed), or ASSAY_ERR_CALLBACK with the message in err.
 */
assay_status assay__call_result(assay__call *call, assay__response **resp,
                                double *latency_ms, assay_error *err);

/* ------------------------------------------------------------ checks/callback.c */

/* A check that asks the application's function; `options` (may be NULL,
   from `doc`) holds weight, metric and threshold. */
assay_status assay__check_callback_new(const char *name, assay_check_fn fn,
                                       void *user_data, const assay__doc *doc,
                                       const cJSON *options,
                                       assay__check **out, assay_error *err);

/* ------------------------------------------------------------ build.c */

/* What assay_suite_free releases of the suite-building calls. */
void assay__suite_extras_free(assay__suite_extras *extras);

#endif /* ASSAY_CALLBACK_H */
