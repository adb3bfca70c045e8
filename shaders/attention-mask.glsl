// Masks and biases shared by every attention variant: bindings 3-7 and the per-pair rule.
// A masked pair gets a score of -inf; callers turn -inf scores into zero probabilities
// explicitly, so a query with no visible key ends with m = -inf and a zero output row.
// ATTN_FLAGS: p.flags, unless the including shader makes them a specialisation constant.
#ifndef ATTN_FLAGS
#define ATTN_FLAGS p.flags
#endif

layout(binding = 3) uniform usamplerBuffer q_bits;
layout(binding = 4) uniform usamplerBuffer k_bits;
layout(binding = 5) uniform samplerBuffer k_bias;
layout(binding = 6) uniform usamplerBuffer rel_buckets;
layout(binding = 7) uniform samplerBuffer rel_table;

#define ATTN_NEG_INF (-1.0 / 0.0)

uint attn_query_bits(uint i)
{
    return (ATTN_FLAGS & ATTN_REGIONS) != 0u ? texelFetch(q_bits, int(p.qbits_off + i)).x : 1u;
}

uint attn_key_bits(uint j)
{
    return (ATTN_FLAGS & ATTN_REGIONS) != 0u ? texelFetch(k_bits, int(p.kbits_off + j)).x : 1u;
}

float attn_key_bias(uint j)
{
    return (ATTN_FLAGS & ATTN_KEY_BIAS) != 0u ? texelFetch(k_bias, int(p.kbias_off + j)).x : 0.0;
}

// The bias added to the score of query i (< lq) and key j (< lk) of head h, or -inf when the
// pair is masked. key_bias is attn_key_bias(j), fetched once per key by the caller.
float attn_pair_bias(uint i, uint j, uint h, uint query_bits, uint key_bits, float key_bias)
{
    float b = key_bias;
    if ((ATTN_FLAGS & ATTN_REL_BIAS) != 0u) {
        // Bucket indices come from the caller's data: clamp so a bad one cannot read outside the table.
        uint bucket = min(texelFetch(rel_buckets, int(p.buckets_off + j + p.lq - 1u - i)).x, p.n_buckets - 1u);
        b += texelFetch(rel_table, int(p.table_off + bucket * p.table_stride + h)).x;
    }
    bool visible = (query_bits & key_bits) != 0u && ((ATTN_FLAGS & ATTN_CAUSAL) == 0u || j <= i);
    return visible ? b : ATTN_NEG_INF;
}
