// common.glsl — activations and helpers shared by the compute shaders.
// Activation codes match SinopiaActivation in vulkan/sinopia-ops.h.
#define ACT_NONE 0u
#define ACT_GELU_TANH 1u
#define ACT_SILU 2u
#define ACT_QUICK_GELU 3u

float sinopia_gelu_tanh(float x)
{
    // tanh via exp keeps large |x| finite: tanh(u) = 1 - 2/(exp(2u)+1)
    float u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
    float t = 1.0 - 2.0 / (exp(2.0 * u) + 1.0);
    return 0.5 * x * (1.0 + t);
}

float sinopia_sigmoid(float x)
{
    return 1.0 / (1.0 + exp(-x));
}

float sinopia_activate(float x, uint act)
{
    if (act == ACT_GELU_TANH)
        return sinopia_gelu_tanh(x);
    if (act == ACT_SILU)
        return x * sinopia_sigmoid(x);
    if (act == ACT_QUICK_GELU)
        return x * sinopia_sigmoid(1.702 * x);
    return x;
}

// Invocations are laid out on a 2-D grid of workgroups when one axis is not enough.
uint sinopia_linear_id()
{
    return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
}

float sinopia_bf16(uint bits)
{
    return uintBitsToFloat(bits << 16);
}
