/* Fault injection for the tests (tests/test_faults.c): the n-th allocation from the moment a test arms it
 * fails, or the n-th write, with the errno the test names; each site asks fault_allocation() or fault_write()
 * first. Unarmed (always, outside those tests), each check is one relaxed atomic load. */
#ifndef HFTC_CORE_FAULT_H
#define HFTC_CORE_FAULT_H

#include <stdbool.h>
#include <stddef.h>

/* The n-th allocation (mem_alloc, mem_calloc, mem_reserve's growth, arena_init) after this call fails, counting
 * from 1, and only that one; 0 disarms. jansson's own allocations are not failed: its parser frees a buffer twice
 * when one of them fails (json_loadb, jansson 2.14), which is jansson's to fix. */
void fault_arm_allocation(size_t n);
/* The n-th write of a file being saved (safetensors_write's) fails with errno error; 0 disarms. */
void fault_arm_write(size_t n, int error);
/* How many allocations (writes) were checked since arming: a run that checked fewer than n met no fault. */
size_t fault_allocations_seen(void);
size_t fault_writes_seen(void);
/* True where this allocation is to fail. */
bool fault_allocation(void);
/* True (errno set) where this write is to fail. */
bool fault_write(void);

#endif
