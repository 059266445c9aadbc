"""What each supported model family is, without torch (the DAG and the analysis env import it).

The FFN matrices of a family are `entangle.config.FFN_MATRICES` (canonical names, in block order);
`entangle.models.arch.ARCHS` builds its adapters from that table and from `ACTIVATIONS`.
"""

from entangle.config import FFN_MATRICES

# The FFN non-linearity of each family (Hugging Face names), applied to `gate` for a gated FFN, else to `up`.
ACTIVATIONS = {"gpt_neox": "gelu", "opt": "relu", "llama": "silu", "gpt2": "gelu_new"}

if set(ACTIVATIONS) != set(FFN_MATRICES):
    raise RuntimeError(f"families with an activation {sorted(ACTIVATIONS)} differ from those with FFN matrices "
                       f"{sorted(FFN_MATRICES)}")

__all__ = ["ACTIVATIONS", "FFN_MATRICES"]
