"""Reinterpret float64 <-> int64 bits inside jitted code (an LLVM bitcast, free)."""

from numba import types
from numba.extending import intrinsic


@intrinsic
def float_bits(typingctx, value):
    """The IEEE-754 bits of a float64 as an int64."""
    if value != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


@intrinsic
def bits_float(typingctx, value):
    """The float64 whose IEEE-754 bits are the int64 ``value``."""
    if value != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen
