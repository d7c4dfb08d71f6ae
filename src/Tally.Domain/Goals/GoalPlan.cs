using Tally.Domain.Boards;
using Tally.Domain.Config;

namespace Tally.Domain.Goals;

/// <summary>A tenant's goals as evaluated: calendar goals (and streak goals) on each applied event, checkpoint goals on each
/// event the user's tier timeline counts; and which per-period event counts the actions goals need kept.</summary>
public sealed class GoalPlan
{
    public static readonly GoalPlan None = new([]);

    private readonly Dictionary<string, GoalRule> _byId;
    private readonly Dictionary<string, PeriodSet> _counted;

    private GoalPlan(IReadOnlyList<GoalRule> rules)
    {
        All = rules;
        Calendar = rules.Where(r => !r.IsCheckpoint).ToArray();
        Checkpoint = rules.Where(r => r.IsCheckpoint).ToArray();
        _byId = rules.ToDictionary(r => r.Id, StringComparer.Ordinal);
        _counted = new Dictionary<string, PeriodSet>(StringComparer.Ordinal);
        foreach (var r in rules)
            if (r.Kind == GoalKind.Actions && !r.IsCheckpoint && r.Period != PeriodKind.AllTime)
                _counted[r.Numerator] = _counted.GetValueOrDefault(r.Numerator) | PeriodSets.Of(r.Period);
    }

    public IReadOnlyList<GoalRule> All { get; }

    /// <summary>Goals whose instances are calendar periods, and streak goals.</summary>
    public IReadOnlyList<GoalRule> Calendar { get; }

    /// <summary>Goals whose instances are the user's checkpoint windows.</summary>
    public IReadOnlyList<GoalRule> Checkpoint { get; }

    public bool IsEmpty => All.Count == 0;

    public GoalRule? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>The periods whose event counts of <paramref name="measure"/> an actions goal needs (all time is always kept).</summary>
    public PeriodSet CountsOf(string measure) => _counted.GetValueOrDefault(measure);

    /// <summary>Whether a board cell key is a goal's (its measure carries <see cref="GoalRule.CellPrefix"/>) of a goal this plan has.</summary>
    public bool IsGoalCell(in BoardKey key) =>
        key.Measure.StartsWith(GoalRule.CellPrefix, StringComparison.Ordinal) && _byId.TryGetValue(key.Measure[GoalRule.CellPrefix.Length..], out var rule)
        && !rule.IsCheckpoint && rule.Period == key.Period;

    public static GoalPlan From(TenantConfig config) =>
        config.Goals is not { Count: > 0 } goals ? None : new GoalPlan(goals.Select(g => GoalRule.From(g.Key, g.Value, config)).ToArray());
}

/// <summary>A set of calendar period kinds below all time.</summary>
[Flags]
public enum PeriodSet : byte
{
    None = 0,
    Year = 1,
    Month = 2,
    Week = 4,
    Day = 8,
}

internal static class PeriodSets
{
    public static PeriodSet Of(PeriodKind kind) => kind switch
    {
        PeriodKind.Year => PeriodSet.Year,
        PeriodKind.Month => PeriodSet.Month,
        PeriodKind.Week => PeriodSet.Week,
        PeriodKind.Day => PeriodSet.Day,
        _ => PeriodSet.None,
    };
}
