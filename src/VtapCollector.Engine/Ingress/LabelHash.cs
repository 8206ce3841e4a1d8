using System.Runtime.CompilerServices;
using VtapCollector.Decoding;

namespace VtapCollector.Engine.Ingress;

/// <summary>
/// The hashes the receiving threads and the workers give <see cref="LabelIndex{TKey}"/> for a VNI or
/// a mirror source, once per packet: the flow key's 64-bit finaliser, inlined. <see cref="IpAddress.GetHashCode"/>
/// (<see cref="HashCode.Combine{T1, T2}"/>, randomised per process) was a call of its own on every
/// packet. The table is bounded and its keys are counted, not trusted, so a predictable hash risks
/// nothing there.
/// </summary>
internal static class LabelHash
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Of(uint vni) => (int)Flows.FlowKey.Mix(vni);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Of(IpAddress address) => (int)Flows.FlowKey.Mix(address.Lo ^ (address.Hi * 0x9E37_79B9_7F4A_7C15UL));
}
