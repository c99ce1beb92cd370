// Judging and summarising evaluations (filled in by ChrF.swift, Judge.swift, Statistics.swift).
