using CsCheck;
using Shouldly;
using Tally.Domain.Boards;
using Xunit;

namespace Tally.Domain.Tests;

public class SlotMapTests
{
    [Fact]
    public void it_holds_what_a_dictionary_holds_after_any_adds_and_removals()
    {
        // Few members, many removals: the backward shift after a removal is what could lose a member.
        Gen.Select(Gen.Int[0, 60], Gen.Int[0, 1_000], Gen.Bool).Array[0, 400].Sample(ops =>
        {
            var map = new SlotMap();
            var reference = new Dictionary<int, int>();
            foreach (var (member, slot, remove) in ops)
            {
                if (remove)
                {
                    map.Remove(member, out var removed).ShouldBe(reference.Remove(member, out var expected));
                    removed.ShouldBe(expected);
                    continue;
                }
                ref var value = ref map.GetValueRefOrAddDefault(member, out var exists);
                exists.ShouldBe(reference.ContainsKey(member));
                value = slot;
                reference[member] = slot;
            }
            map.Count.ShouldBe(reference.Count);
            for (var member = 0; member <= 60; member++)
            {
                map.TryGetValue(member, out var slot).ShouldBe(reference.TryGetValue(member, out var expected));
                slot.ShouldBe(expected);
            }
        }, iter: 2_000);
    }

    [Fact]
    public void room_made_at_once_is_at_most_a_quarter_more_than_the_members()
    {
        var map = new SlotMap();
        map.EnsureCapacity(100_000);
        for (var member = 0; member < 100_000; member++) map.GetValueRefOrAddDefault(member, out _) = member;
        map.AllocatedBytes.ShouldBeLessThanOrEqualTo(100_000 * 8 * 5 / 4 + 8);
        map.TryGetValue(99_999, out var slot).ShouldBeTrue();
        slot.ShouldBe(99_999);
    }
}
