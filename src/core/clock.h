/* Time: the monotonic clock that training, evaluation and serving measure seconds with. */
#ifndef HFTC_CORE_CLOCK_H
#define HFTC_CORE_CLOCK_H

/* Seconds on the monotonic clock (from an arbitrary start: only differences mean anything). */
double now_seconds(void);

#endif
