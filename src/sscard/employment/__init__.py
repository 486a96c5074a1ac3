"""Public employment services by card (公共就业服务): job-seeker and unemployment registrations, the unemployment
benefit opened from them, employment-support subsidies granted against them, and flexible workers' online
参保登记 and 缴费申报 (docs/employment.md)."""
