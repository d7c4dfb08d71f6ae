namespace Tally.Postgres.EventLog;

/// <summary>One event as written to <c>user_action_events</c>. JSON columns are pre-serialized text.</summary>
public sealed record EventLogRow(
    string TenantId,
    string UserId,
    string Action,
    DateOnly ActionDate,
    DateTimeOffset EventTimestamp,
    string IdempotencyKey,
    string MeasuresJson,
    string? DimsJson,
    string? PayloadJson);
