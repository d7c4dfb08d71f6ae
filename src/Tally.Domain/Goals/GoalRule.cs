using Tally.Domain.Boards;
using Tally.Domain.Config;

namespace Tally.Domain.Goals;

/// <summary>What a goal's progress is: a measure's sum, the events carrying it, a ratio of two sums, or the longest streak.</summary>
public enum GoalKind : byte
{
    Sum = 0,
    Actions = 1,
    Ratio = 2,
    Streak = 3,
}

/// <summary>
/// One goal of a tenant, resolved from its config: the figure it follows, the window whose instances it is completed in
/// (a calendar period, or the user's checkpoint window), and its targets (level n is target n, 1-based).
/// </summary>
public sealed class GoalRule
{
    /// <summary>The measure name prefix of a goal's cells on the board shards (no measure name holds a colon).</summary>
    public const string CellPrefix = "goal:";

    private GoalRule(string id, GoalConfig config, TenantConfig tenant)
    {
        Id = id;
        Title = config.Title;
        Targets = config.Targets.ToArray();
        MinDenominator = config.MinDenominator ?? 1m;
        if (config.Streak == true)
        {
            Kind = GoalKind.Streak;
            Period = PeriodKind.AllTime;
        }
        else
        {
            if (config.Ratio is { } ratio)
            {
                Kind = GoalKind.Ratio;
                var r = tenant.Ratios![ratio];
                (Numerator, Denominator) = (r.Numerator, r.Denominator);
            }
            else
            {
                Kind = config.Of == GoalConfig.OfActions ? GoalKind.Actions : GoalKind.Sum;
                Numerator = config.Measure!;
            }
            var window = config.Window ?? "all_time";
            IsCheckpoint = window == GoalConfig.CheckpointWindow;
            Period = IsCheckpoint ? PeriodKind.AllTime : ParsePeriod(window);
        }
        CellMeasure = CellPrefix + id;
    }

    public string Id { get; }
    public string? Title { get; }
    public GoalKind Kind { get; }

    /// <summary>The measure a sum or actions goal follows, or a ratio's numerator.</summary>
    public string Numerator { get; } = "";

    /// <summary>A ratio goal's denominator measure.</summary>
    public string Denominator { get; } = "";

    /// <summary>The calendar period of the goal's instances (all_time for streak goals); unused for checkpoint goals.</summary>
    public PeriodKind Period { get; }

    /// <summary>Whether instances are the user's checkpoint windows rather than calendar periods.</summary>
    public bool IsCheckpoint { get; }

    public decimal[] Targets { get; }

    /// <summary>A ratio goal completes a level only once the denominator's sum reaches this.</summary>
    public decimal MinDenominator { get; }

    /// <summary>The measure name of the goal's cells: a user's level in an instance, counted per level by the board shards.</summary>
    public string CellMeasure { get; }

    /// <summary>The window's name as the config writes it.</summary>
    public string WindowName => Kind == GoalKind.Streak ? "all_time" : IsCheckpoint ? GoalConfig.CheckpointWindow : Periods.Name(Period);

    /// <summary>The cell of this goal's calendar instance <paramref name="periodKey"/>.</summary>
    public BoardKey CellKey(int periodKey) => new(CellMeasure, BoardKey.Global, "", Period, periodKey);

    /// <summary>The target of level <paramref name="level"/> (1-based), or null past the last level.</summary>
    public decimal? TargetOf(int level) => level >= 1 && level <= Targets.Length ? Targets[level - 1] : null;

    public static GoalRule From(string id, GoalConfig config, TenantConfig tenant) => new(id, config, tenant);

    private static PeriodKind ParsePeriod(string window) =>
        Periods.TryParseName(window, out var period) ? period : throw new ArgumentException($"'{window}' is not a period.", nameof(window));
}
