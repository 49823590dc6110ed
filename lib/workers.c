/*
 * workers.c - a fixed pool of threads for the calls that must not block
 * the run's loop: the application's callback targets.
 *
 * Tasks wait in one queue; each thread takes the oldest, runs it, puts it
 * in the finished queue and wakes the owner (the run wakes its libcurl
 * loop). The owner takes finished tasks back on its own thread, so nothing
 * but a task's `run` ever happens on a worker: scoring, the record and the
 * summary stay single-threaded. One mutex guards both queues; tasks are
 * long (an application's function), so it is never contended for long.
 *
 * What it does not do: interrupt a running task. Stopping waits for them.
 */
#include "callback.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct task_queue {
    assay__task *head;
    assay__task *tail;
} task_queue;

struct assay__workers {
    pthread_mutex_t lock;
    pthread_cond_t work;     /* a task was queued, or the pool stops */
    pthread_cond_t finished; /* a running task finished */
    task_queue queued;
    task_queue done;
    size_t running;
    size_t pending; /* submitted, not taken back: the owner's count */
    bool stopping;
    void (*wake)(void *data);
    void *wake_data;
    pthread_t *threads;
    size_t n_threads;
};

static void queue_push(task_queue *q, assay__task *t)
{
    t->next = NULL;
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
}

static assay__task *queue_pop(task_queue *q)
{
    assay__task *t = q->head;
    if (t) {
        q->head = t->next;
        if (!q->head)
            q->tail = NULL;
        t->next = NULL;
    }
    return t;
}

/* The whole queue as a list; the queue is left empty. */
static assay__task *queue_take(task_queue *q)
{
    assay__task *list = q->head;
    q->head = q->tail = NULL;
    return list;
}

static void *worker_main(void *arg)
{
    assay__workers *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->queued.head && !w->stopping)
            pthread_cond_wait(&w->work, &w->lock);
        assay__task *t = queue_pop(&w->queued);
        if (!t)
            break; /* stopping, and nothing is left to start */
        w->running++;
        pthread_mutex_unlock(&w->lock);
        t->run(t);
        pthread_mutex_lock(&w->lock);
        w->running--;
        queue_push(&w->done, t);
        pthread_cond_broadcast(&w->finished);
        if (w->wake)
            w->wake(w->wake_data);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void stop_threads(assay__workers *w)
{
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < w->n_threads; i++)
        pthread_join(w->threads[i], NULL);
    w->n_threads = 0;
}

assay_status assay__workers_new(int threads, void (*wake)(void *data),
                                void *wake_data, assay__workers **out)
{
    *out = NULL;
    if (threads < 1)
        return ASSAY_ERR_INVALID;
    assay__workers *w = calloc(1, sizeof *w);
    if (!w)
        return ASSAY_ERR_NOMEM;
    w->threads = calloc((size_t)threads, sizeof *w->threads);
    if (!w->threads) {
        free(w);
        return ASSAY_ERR_NOMEM;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->finished, NULL);
    w->wake = wake;
    w->wake_data = wake_data;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&w->threads[w->n_threads], NULL, worker_main, w))
            break;
        w->n_threads++;
    }
    if (w->n_threads == 0) {
        assay__workers_free(w);
        return ASSAY_ERR_NOMEM;
    }
    *out = w;
    return ASSAY_OK;
}

void assay__workers_submit(assay__workers *w, assay__task *task)
{
    pthread_mutex_lock(&w->lock);
    queue_push(&w->queued, task);
    w->pending++;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->lock);
}

assay__task *assay__workers_take(assay__workers *w)
{
    pthread_mutex_lock(&w->lock);
    assay__task *list = queue_take(&w->done);
    pthread_mutex_unlock(&w->lock);
    for (assay__task *t = list; t; t = t->next)
        w->pending--;
    return list;
}

size_t assay__workers_pending(const assay__workers *w)
{
    return w->pending;
}

assay__task *assay__workers_drain(assay__workers *w)
{
    pthread_mutex_lock(&w->lock);
    assay__task *never_ran = queue_take(&w->queued);
    while (w->running > 0)
        pthread_cond_wait(&w->finished, &w->lock);
    pthread_mutex_unlock(&w->lock);
    for (assay__task *t = never_ran; t; t = t->next)
        w->pending--;
    return never_ran;
}

void assay__workers_free(assay__workers *w)
{
    if (!w)
        return;
    stop_threads(w);
    pthread_cond_destroy(&w->finished);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->lock);
    free(w->threads);
    free(w);
}
