namespace Hive.Features.Reminders;

/// <summary>The <c>Hive:Reminders</c> configuration section.</summary>
public sealed class RemindersOptions
{
    /// <summary>How often the scheduler looks for due reminders (fractions allowed).</summary>
    public double TickSeconds { get; set; } = 5;

    /// <summary>Attempts before a failing reminder is left for the operator to retry or cancel.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Pending reminders one agent may hold; the next <c>remind</c> is refused with <c>too_many</c> (429).</summary>
    public int MaxPendingPerAgent { get; set; } = 1000;

    /// <summary>Recurring reminders one agent may hold.</summary>
    public int MaxRecurringPerAgent { get; set; } = 50;

    /// <summary>
    /// A recurring reminder's run not made within this long of its time was missed (the host was down, or far behind):
    /// its <c>catch_up</c> policy decides what becomes of it. Runs the scheduler reaches in time are always made.
    /// </summary>
    public double MissedAfterSeconds { get; set; } = 60;
}
