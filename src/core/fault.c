/* Counters shared by every thread: the n-th check of a kind, in whatever order threads reach it. */
#include "core/fault.h"

#include <errno.h>
#include <stdatomic.h>

static atomic_size_t alloc_target, alloc_seen, write_target, write_seen;
static atomic_int write_errno;

void fault_arm_allocation(size_t n)
{
    atomic_store(&alloc_seen, 0);
    atomic_store(&alloc_target, n);
}

void fault_arm_write(size_t n, int error)
{
    atomic_store(&write_seen, 0);
    atomic_store(&write_errno, error);
    atomic_store(&write_target, n);
}

size_t fault_allocations_seen(void) { return atomic_load(&alloc_seen); }

size_t fault_writes_seen(void) { return atomic_load(&write_seen); }

bool fault_allocation(void)
{
    size_t target = atomic_load_explicit(&alloc_target, memory_order_relaxed);
    return target && atomic_fetch_add(&alloc_seen, 1) + 1 == target;
}

bool fault_write(void)
{
    size_t target = atomic_load_explicit(&write_target, memory_order_relaxed);
    if (!target || atomic_fetch_add(&write_seen, 1) + 1 != target)
        return false;
    errno = atomic_load(&write_errno);
    return true;
}
