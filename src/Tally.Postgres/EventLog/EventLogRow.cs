namespace Tally.Postgres.EventLog;

/// <summary>
/// One event as written to <c>user_action_events</c>. JSON columns are pre-serialized text.
/// <paramref name="Epoch"/> is the writing activation's epoch (<see cref="LoadedUser.Epoch"/>): the
/// row is refused if the user has a newer activation.
/// </summary>
public sealed record EventLogRow(
    string TenantId,
    string UserId,
    long Epoch,
    string Action,
    DateOnly ActionDate,
    DateTimeOffset EventTimestamp,
    string IdempotencyKey,
    string MeasuresJson,
    string? DimsJson,
    string? PayloadJson);
