namespace Tally.Domain.Goals;

/// <summary>A goal's instance for the current window as a stats read shows it: its key, the progress, the levels completed
/// there and the next target (null once every level is done). <see cref="WindowKey"/> is null for a checkpoint goal of a
/// user without a checkpoint window.</summary>
public sealed record GoalView(string Goal, string? WindowKey, decimal? Progress, int Level, decimal? NextTarget);
