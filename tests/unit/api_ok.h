/*
 * api_ok.h - for the tests that use only the public API: ok(call) fails
 * the test with the call, its error message and its status unless the
 * call returned ASSAY_OK; inside it, E names the call's assay_error.
 *
 *   ok(assay_suite_add_target(suite, "m", NULL, E));
 */
#ifndef ASSAY_TEST_API_OK_H
#define ASSAY_TEST_API_OK_H

#define ok(call)                                                            \
    do {                                                                    \
        assay_error e_;                                                     \
        assay_error_clear(&e_);                                             \
        assay_status s_ = (call);                                           \
        if (s_ != ASSAY_OK)                                                 \
            fail_msg("%s: %s (%s)", #call, e_.message,                      \
                     assay_status_name(s_));                                \
    } while (0)
#define E (&e_)

#endif
