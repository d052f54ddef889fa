/** The audit trail's CSV cells: the shared writer with its formula-injection guard (src/lib/csv.ts). */
export { csvCell, csvLine } from '../../lib/csv.ts'
