using CsCheck;
using Shouldly;
using Tally.Domain.Boards;
using Xunit;

namespace Tally.Domain.Tests;

/// <summary>The member tables of a board shard: numbers, versions, removals and the tie order.</summary>
public class ShardMembersTests
{
    [Fact]
    public void a_user_keeps_one_member_number_and_its_version_never_goes_back()
    {
        var members = new ShardMembers();
        var a = members.Of("a");
        members.Of("b").ShouldBe(a + 1);
        members.Of("a").ShouldBe(a);
        members.Count.ShouldBe(2);

        members.Advance(a, 7);
        members.Advance(a, 5);
        members.Version(a).ShouldBe(7);
        members.IsBehind("a", 7).ShouldBeFalse();
        members.IsBehind("a", 8).ShouldBeTrue();
        members.IsBehind("never-seen", 1).ShouldBeTrue();
        members.TryFind("never-seen", out _).ShouldBeFalse();
    }

    [Fact]
    public void an_incomplete_member_stays_behind_through_later_updates_until_completed()
    {
        var members = new ShardMembers();
        var a = members.Of("a");
        members.Advance(a, 10);
        members.IsBehind("a", 10).ShouldBeFalse();
        members.MarkIncomplete(a);
        members.Advance(a, 20); // a later live update with only the cells its events touched
        members.IsBehind("a", 20).ShouldBeTrue();
        members.IsBehind("b", 0).ShouldBeTrue();
        members.Completed(a);
        members.IsBehind("a", 20).ShouldBeFalse();
    }

    [Fact]
    public void a_removal_refuses_cells_published_before_it_and_only_those()
    {
        var members = new ShardMembers();
        var a = members.Of("a");
        members.IsErased(a, 1).ShouldBeFalse();
        members.Erase(a, 10);
        members.Erase(a, 4); // a late, older removal does not shorten the first
        members.IsErased(a, 10).ShouldBeTrue();
        members.IsErased(a, 11).ShouldBeFalse();
        members.IsErased(members.Of("b"), 1).ShouldBeFalse();
    }

    [Fact]
    public void members_tie_in_user_id_order_whatever_order_they_arrived_in()
    {
        Gen.String[Gen.Char['a', 'z'], 1, 6].Array[2, 40].Sample(ids =>
        {
            var members = new ShardMembers();
            var numbers = ids.Distinct().Select(members.Of).ToList();
            numbers.Sort(members.ByUserId);
            numbers.Select(members.UserId).ShouldBe(ids.Distinct().Order(StringComparer.Ordinal));
        });
    }

    [Fact]
    public void every_user_keeps_its_number_and_id_however_many_arrive()
    {
        // Ids of any length and characters (surrogates too), many more than the table starts with.
        Gen.String[Gen.Char, 0, 12].Array[0, 3_000].Sample(ids =>
        {
            var members = new ShardMembers();
            var numbers = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var id in ids)
            {
                var member = members.Of(id);
                if (numbers.TryGetValue(id, out var before)) member.ShouldBe(before);
                else
                {
                    member.ShouldBe(numbers.Count);
                    numbers[id] = member;
                }
            }
            members.Count.ShouldBe(numbers.Count);
            foreach (var (id, member) in numbers)
            {
                members.TryFind(id, out var found).ShouldBeTrue();
                found.ShouldBe(member);
                members.UserId(member).ShouldBe(id);
            }
            members.TryFind("\u0000never", out _).ShouldBe(numbers.ContainsKey("\u0000never"));
        }, iter: 200);
    }
}
