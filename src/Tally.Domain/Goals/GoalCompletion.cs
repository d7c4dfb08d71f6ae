namespace Tally.Domain.Goals;

/// <summary>
/// Level <paramref name="Level"/> of goal <paramref name="Goal"/> reached in one instance (<paramref name="WindowKey"/>: a
/// period key such as <c>2026-12</c>, or a checkpoint window's start in RFC 3339), at the applied event dated
/// <paramref name="CompletedAt"/>, with <paramref name="Value"/> the progress right after it. Recorded once per
/// (user, goal, level, instance) and never revoked.
/// </summary>
public sealed record GoalCompletion(string Goal, int Level, decimal Target, string WindowKey, DateTimeOffset CompletedAt, decimal Value);
