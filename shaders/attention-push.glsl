// Push constants of the attention shaders; mirrored by AttentionPush in vulkan/sinopia-ops-attention.c.
// Offsets and strides are in elements of each operand's buffer.
layout(push_constant) uniform AttentionPush {
    uint lq;
    uint lk;
    uint n_heads;
    uint head_dim;
    uint q_off;
    uint q_stride;
    uint k_off;
    uint k_stride;
    uint v_off;
    uint v_stride;
    uint o_off;
    uint o_stride;
    float scale;
    uint flags;         // ATTN_* below
    uint qbits_off;
    uint kbits_off;
    uint kbias_off;
    uint buckets_off;
    uint table_off;
    uint table_stride;
    uint n_buckets;
} p;

#define ATTN_REGIONS 1u
#define ATTN_KEY_BIAS 2u
#define ATTN_REL_BIAS 4u
#define ATTN_CAUSAL 8u
