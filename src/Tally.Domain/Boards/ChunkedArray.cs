using System.Numerics;
using System.Runtime.CompilerServices;

namespace Tally.Domain.Boards;

/// <summary>
/// An array of structs kept in chunks of about 1 MiB, for board storage that grows to millions of entries. A plain array
/// grows by copying itself into a larger one: at a million members that is tens of megabytes allocated at once on the
/// large-object heap, the old copy held until the next full collection, and the free space it leaves too small for the
/// next growth. Here only the last chunk grows by copying (by half, as an array would, so a small board stays small);
/// once whole it is never copied again, and every whole chunk has the same size, so one freed by a board that is gone
/// fits the next board's. All chunks but the last are whole, so an index finds its chunk by a shift.
/// <para>A mutable struct: keep it in a field that is not <c>readonly</c> and use it in place, never through a copy.</para>
/// </summary>
internal struct ChunkedArray<T>
{
    private const int ChunkBytes = 1 << 20;
    private static readonly int Bits = BitOperations.Log2((uint)Math.Max(1, ChunkBytes / Unsafe.SizeOf<T>()));
    private static readonly int Mask = (1 << Bits) - 1;

    /// <summary>Entries in a whole chunk.</summary>
    internal static int ChunkLength => 1 << Bits;

    private T[][] _chunks;

    public ChunkedArray(int capacity)
    {
        _chunks = [];
        EnsureCapacity(capacity);
    }

    /// <summary>Entries that fit without growing.</summary>
    public int Capacity { get; private set; }

    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _chunks[index >> Bits][index & Mask];
    }

    /// <summary>Makes room for <paramref name="needed"/> entries; what is stored stays where it is.</summary>
    public void EnsureCapacity(int needed)
    {
        _chunks ??= [];
        while (Capacity < needed)
        {
            var last = _chunks.Length - 1;
            if (last >= 0 && _chunks[last].Length < ChunkLength)
            {
                // The last chunk grows by half, or to what is needed, up to a whole chunk.
                var length = Math.Min(ChunkLength, Math.Max(needed - (last << Bits), _chunks[last].Length + _chunks[last].Length / 2));
                Array.Resize(ref _chunks[last], length);
            }
            else
            {
                // A new chunk starts small unless more is needed at once (a rebuild sizes the board in one step).
                var first = last < 0 ? 4 : ChunkLength / 8;
                Array.Resize(ref _chunks, _chunks.Length + 1);
                _chunks[last + 1] = new T[Math.Min(ChunkLength, Math.Max(needed - Capacity, first))];
            }
            Capacity = ((_chunks.Length - 1) << Bits) + _chunks[^1].Length;
        }
    }

    /// <summary>Bytes held by the chunks (<paramref name="entryBytes"/> each) and the table of chunks.</summary>
    public readonly long AllocatedBytes(int entryBytes) => (long)Capacity * entryBytes + (_chunks?.Length ?? 0) * 8L;
}
