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
}
