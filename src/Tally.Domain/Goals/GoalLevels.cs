using Tally.Domain.Config;

namespace Tally.Domain.Goals;

/// <summary>Levels as the board shards count them: a goal cell's score is the member's level in the instance.</summary>
public static class GoalLevels
{
    /// <summary>The highest level a goal can have (its most targets).</summary>
    public const int Max = TenantConfigValidator.MaxGoalTargets;

    /// <summary>A cell's score as a level, within 0 to <see cref="Max"/>.</summary>
    public static int Clamp(decimal score) => score <= 0 ? 0 : score >= Max ? Max : (int)score;

    /// <summary>Users who completed each level 1..<paramref name="levels"/>, from members per exact level (levels complete in
    /// order, so a user at level 3 completed 1 and 2 too).</summary>
    public static long[] Completed(long[] membersAtLevel, int levels)
    {
        var completed = new long[levels];
        long atOrAbove = 0;
        for (var level = Max; level >= 1; level--)
        {
            atOrAbove += level < membersAtLevel.Length ? membersAtLevel[level] : 0;
            if (level <= levels) completed[level - 1] = atOrAbove;
        }
        return completed;
    }
}
