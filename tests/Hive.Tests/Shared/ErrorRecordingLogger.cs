using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Hive.Tests.Shared;

/// <summary>A logger that keeps the exception of every error it is given, for a background loop's tests.</summary>
internal sealed class ErrorRecordingLogger : ILogger
{
    private readonly ConcurrentQueue<Exception?> _errors = new();
    public IReadOnlyCollection<Exception?> Errors => _errors;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel >= LogLevel.Error) _errors.Enqueue(exception);
    }
}
