using CsCheck;
using Shouldly;
using Tally.Domain.Boards;
using Xunit;

namespace Tally.Domain.Tests;

public class ChunkedArrayTests
{
    private static readonly int Chunk = ChunkedArray<long>.ChunkLength;

    [Fact]
    public void entries_keep_their_values_through_any_growth()
    {
        // Growth steps from one entry to several chunks at once, across chunk boundaries; a reference array holds the truth.
        var step = Gen.OneOf(Gen.Int[1, 40], Gen.Int[1, Chunk / 3], Gen.Int[Chunk - 5, Chunk * 2 + 5]);
        step.Array[1, 8].Sample(steps =>
        {
            var array = new ChunkedArray<long>(0);
            var reference = new List<long>();
            foreach (var grow in steps)
            {
                array.EnsureCapacity(reference.Count + grow);
                array.Capacity.ShouldBeGreaterThanOrEqualTo(reference.Count + grow);
                for (var i = 0; i < grow; i++)
                {
                    var value = reference.Count * 7L + 1;
                    array[reference.Count] = value;
                    reference.Add(value);
                }
                for (var i = 0; i < reference.Count; i++) array[i].ShouldBe(reference[i]);
            }
        }, iter: 60);
    }

    [Fact]
    public void a_small_array_stays_small_and_room_made_at_once_is_at_most_an_eighth_of_a_chunk_more()
    {
        var small = new ChunkedArray<long>(4);
        for (var n = 1; n <= 10; n++) small.EnsureCapacity(n);
        small.Capacity.ShouldBeLessThan(16);

        var sized = new ChunkedArray<long>(0);
        sized.EnsureCapacity(Chunk * 3 + 10);
        sized.Capacity.ShouldBeInRange(Chunk * 3 + 10, Chunk * 3 + Chunk / 8);
        sized.AllocatedBytes(8).ShouldBe(sized.Capacity * 8L + 4 * 8);
    }

    [Fact]
    public void a_chunk_is_about_a_mebibyte_whatever_the_entry()
    {
        (ChunkedArray<long>.ChunkLength * 8).ShouldBe(1 << 20);
        (ChunkedArray<BoardCell>.ChunkLength * System.Runtime.CompilerServices.Unsafe.SizeOf<BoardCell>()).ShouldBeInRange(1 << 19, 1 << 20);
    }
}
