/* Element-wise activations. */
#ifndef HFTC_NN_ACTIVATION_H
#define HFTC_NN_ACTIVATION_H

#include <stddef.h>

// inp, out are (N); out may be inp.
void relu_forward(float *out, const float *inp, size_t N);

// out is the forward output, dout, dinp are (N). Writes (does not add) dinp = dout where out > 0, else
// 0, so that it can run in place (dinp == dout).
void relu_backward(float *dinp, const float *dout, const float *out, size_t N);

#endif
