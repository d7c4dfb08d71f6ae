namespace Tally.Postgres.UserState;

/// <summary>One user's saved stats (binary <c>UserStatsCodec</c> form), the last event they include, when the
/// user's next checkpoint decision is due (the scheduler's index; null without a timeline) and the current checkpoint
/// state as JSON for SQL readers (<c>{"tier", "tier_achieved_at", "next_checkpoint_at", "window": {...}}</c>).</summary>
internal sealed record UserStateRow(string TenantId, string UserId, int Shard, long LastEventId, byte[] Stats, DateTimeOffset? CheckpointDueAt = null,
    string? CheckpointJson = null);
