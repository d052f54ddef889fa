import type { UserRecord } from '../accounts/accounts.repository.ts'
import { presentUser, type UserView } from '../accounts/user.presenter.ts'

export type AdminUserView = UserView & { disabled: boolean }

/** The accounts module's USER, plus whether the account is disabled: the admin's view. */
export function presentUserForAdmin(user: UserRecord, twoFactorEnabled: boolean): AdminUserView {
  return { ...presentUser(user, twoFactorEnabled), disabled: user.disabled === 1 }
}
